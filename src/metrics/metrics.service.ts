import { Injectable, type OnModuleDestroy, Optional } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  BackpressureService,
  type CleanupFailedEvent,
  type ClientDisconnectedEvent,
  ClientRegistryService,
  DISCONNECT_REASONS,
  LifelineEvents,
  type PresenceDiffsSentEvent,
  PresenceEvents,
  PresenceService,
  type RejectionReason,
  type ResumeResult,
  type SessionResumedEvent,
  SessionsService,
  type SweepEvent,
  TopicsService,
  type TopicRefusedEvent,
  type UpgradeRejectedEvent,
} from '../lifeline';
import { BulkHistogram } from './bulk-histogram';
import { EventLoopDelayMetric } from './event-loop-delay';

const CLEANUP_STEPS = ['release', 'emit', 'terminate'] as const;
const RESUME_RESULTS: readonly ResumeResult[] = ['recovered', 'partial', 'unknown_session', 'expired', 'forbidden'];
const REJECTION_REASONS: readonly RejectionReason[] = [
  'not_found',
  'bad_request',
  'shutting_down',
  'capacity',
  'forbidden_origin',
  'unauthorized',
  'forbidden',
  'handshake_timeout',
];

/**
 * Prometheus metrics. Counters follow lifecycle events; the client gauge is
 * read from the registry at scrape time. A registry of its own (not
 * prom-client's global one), so several apps can live in one process.
 */
@Injectable()
export class MetricsService implements OnModuleDestroy {
  readonly registry = new Registry();
  private readonly eventLoopDelay = new EventLoopDelayMetric(this.registry);

  private readonly connections = new Counter({
    name: 'lifeline_connections_total',
    help: 'WebSocket clients accepted since start.',
    registers: [this.registry],
  });
  private readonly disconnections = new Counter({
    name: 'lifeline_disconnections_total',
    help: 'Clients removed since start, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private readonly sweeps = new Counter({
    name: 'lifeline_heartbeat_sweeps_total',
    help: 'Completed heartbeat sweeps.',
    registers: [this.registry],
  });
  private readonly sweepDuration = new Histogram({
    name: 'lifeline_heartbeat_sweep_duration_seconds',
    help: 'Wall time of a heartbeat sweep, including its yields to the event loop.',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  private readonly longestSlice = new Gauge({
    name: 'lifeline_heartbeat_longest_slice_seconds',
    help: 'Longest stretch of the last sweep without yielding to the event loop.',
    registers: [this.registry],
  });
  /** Fed a sweep's round trips in one call, with no garbage per sample (see BulkHistogram). */
  private readonly rtt = new BulkHistogram({
    name: 'lifeline_heartbeat_rtt_seconds',
    help: 'Protocol ping round-trip time.',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly reaps = new Counter({
    name: 'lifeline_heartbeat_reaps_total',
    help: 'Clients removed by the heartbeat, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private readonly pingsToClosed = new Counter({
    name: 'lifeline_pings_to_closed_total',
    help: 'Heartbeat pings attempted on a socket that was not open (the double check before each ping prevents them). Must stay 0.',
    registers: [this.registry],
  });
  private readonly rejections = new Counter({
    name: 'lifeline_rejections_total',
    help: 'Upgrade requests refused before they reached the gateway, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private readonly rateLimited = new Counter({
    name: 'lifeline_rate_limited_messages_total',
    help: 'Client messages refused by the per-client rate limit.',
    registers: [this.registry],
  });
  private readonly cleanupFailures = new Counter({
    name: 'lifeline_cleanup_failures_total',
    help: 'Cleanup steps that threw, rejected or timed out, by step.',
    labelNames: ['step'] as const,
    registers: [this.registry],
  });

  private readonly resumes = new Counter({
    name: 'lifeline_resumes_total',
    help: 'Answered resume frames, by result: recovered (every topic), partial (some topics not), or the refusal reason.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  private readonly replayed = new Counter({
    name: 'lifeline_replayed_messages_total',
    help: 'Messages replayed to resuming clients.',
    registers: [this.registry],
  });

  private readonly topicRefusals = new Counter({
    name: 'lifeline_topic_refusals_total',
    help: 'Subscribes and publishes refused by topic permissions (claims, TopicPolicy, TOPIC_POLICY, guards), by action.',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });

  private readonly presenceTransitions = new Counter({
    name: 'lifeline_presence_transitions_total',
    help: 'User presence transitions emitted by this node (each happens on one node cluster-wide), by state reached.',
    labelNames: ['to'] as const,
    registers: [this.registry],
  });
  private readonly presenceDiffFrames = new Counter({
    name: 'lifeline_presence_diff_frames_total',
    help: 'Topic presence diff frames sent by this node.',
    registers: [this.registry],
  });

  constructor(
    clients: ClientRegistryService,
    backpressure: BackpressureService,
    // Optional so the service can be built alone (specs); Nest always provides them.
    @Optional() sessions?: SessionsService,
    @Optional() topics?: TopicsService,
    @Optional() presence?: PresenceService,
  ) {
    let presenceUsers = 0;
    new Gauge({
      name: 'lifeline_presence_users',
      help: 'Users online (members in their grace included); cluster-wide in cluster mode, so the same on every node.',
      registers: [this.registry],
      async collect() {
        // The last known value while the store (Redis) cannot answer.
        if (presence) presenceUsers = await presence.userCount().catch(() => presenceUsers);
        this.set(presenceUsers);
      },
    });
    new Gauge({
      name: 'lifeline_sessions',
      help: 'Sessions held now (memory mode: live and waiting to expire; cluster: live on this node).',
      registers: [this.registry],
      collect() {
        this.set(sessions?.store.size ?? 0);
      },
    });
    new Gauge({
      name: 'lifeline_history_messages',
      help: 'Messages kept in topic history (memory mode; 0 when history is in Redis).',
      registers: [this.registry],
      collect() {
        this.set(topics?.log.stats()?.messages ?? 0);
      },
    });
    new Gauge({
      name: 'lifeline_history_bytes',
      help: 'Approximate bytes of the messages kept in topic history (memory mode; 0 when history is in Redis).',
      registers: [this.registry],
      collect() {
        this.set(topics?.log.stats()?.bytes ?? 0);
      },
    });
    for (const result of RESUME_RESULTS) this.resumes.inc({ result }, 0);
    new Gauge({
      name: 'lifeline_slow_consumers',
      help: 'Clients whose send buffer is over SLOW_CONSUMER_MAX_BUFFERED_BYTES now.',
      registers: [this.registry],
      collect() {
        this.set(backpressure.flaggedCount);
      },
    });
    new Gauge({
      name: 'lifeline_clients_connected',
      help: 'Clients in the registry now.',
      registers: [this.registry],
      collect() {
        this.set(clients.size);
      },
    });
    // Zero series exist from the start, so rate() and alerts see them.
    for (const reason of DISCONNECT_REASONS) {
      this.disconnections.inc({ reason }, 0);
      if (reason === 'heartbeat_timeout' || reason === 'stale_socket') this.reaps.inc({ reason }, 0);
    }
    for (const step of CLEANUP_STEPS) this.cleanupFailures.inc({ step }, 0);
    for (const reason of REJECTION_REASONS) this.rejections.inc({ reason }, 0);
    for (const action of ['subscribe', 'publish']) this.topicRefusals.inc({ action }, 0);
    for (const to of ['online', 'offline']) this.presenceTransitions.inc({ to }, 0);
    collectDefaultMetrics({ register: this.registry });
  }

  @OnEvent(LifelineEvents.connected)
  onConnected(): void {
    this.connections.inc();
  }

  @OnEvent(LifelineEvents.disconnected)
  onDisconnected(event: ClientDisconnectedEvent): void {
    this.disconnections.inc({ reason: event.reason });
  }

  @OnEvent(LifelineEvents.reaped)
  onReaped(event: { reason: string }): void {
    this.reaps.inc({ reason: event.reason });
  }

  @OnEvent(LifelineEvents.swept)
  onSwept(event: SweepEvent): void {
    this.sweeps.inc();
    this.sweepDuration.observe(event.durationMs / 1000);
    this.longestSlice.set(event.longestSliceMs / 1000);
    // 19,000 samples are a few hundred microseconds of counting: one go, no slicing.
    this.rtt.observeMany(event.rttSamplesMs, 1000);
  }

  @OnEvent(LifelineEvents.pingToClosed)
  onPingToClosed(): void {
    this.pingsToClosed.inc();
  }

  @OnEvent(LifelineEvents.cleanupFailed)
  onCleanupFailed(event: CleanupFailedEvent): void {
    this.cleanupFailures.inc({ step: event.step });
  }

  @OnEvent(LifelineEvents.upgradeRejected)
  onUpgradeRejected(event: UpgradeRejectedEvent): void {
    this.rejections.inc({ reason: event.reason });
  }

  @OnEvent(LifelineEvents.sessionResumed)
  onResumed(event: SessionResumedEvent): void {
    this.resumes.inc({ result: event.result });
    if (event.replayed > 0) this.replayed.inc(event.replayed);
  }

  @OnEvent(PresenceEvents.online)
  onPresenceOnline(): void {
    this.presenceTransitions.inc({ to: 'online' });
  }

  @OnEvent(PresenceEvents.offline)
  onPresenceOffline(): void {
    this.presenceTransitions.inc({ to: 'offline' });
  }

  @OnEvent(PresenceEvents.diffsSent)
  onPresenceDiffs(event: PresenceDiffsSentEvent): void {
    this.presenceDiffFrames.inc(event.frames);
  }

  @OnEvent(LifelineEvents.rateLimited)
  onRateLimited(): void {
    this.rateLimited.inc();
  }

  @OnEvent(LifelineEvents.topicRefused)
  onTopicRefused(event: TopicRefusedEvent): void {
    this.topicRefusals.inc({ action: event.action });
  }

  onModuleDestroy(): void {
    this.eventLoopDelay.stop();
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
