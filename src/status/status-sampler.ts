import { Injectable } from '@nestjs/common';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { BackpressureService, ClientRegistryService, HeartbeatService, LifecycleService, TopicsService } from '../lifeline';
import { MetricsService } from '../metrics/metrics.service';
import { ClusterStatusReader } from './cluster-status.reader';
import { type Buckets, bucketsDelta, bucketsFromValues, histogramQuantile } from './histogram-quantile';
import { searchClients } from './client-search';
import type { ClusterStatus, StatusClientsPage, StatusRow, StatusSection, StatusSectionSnapshot, StatusSnapshot } from './interfaces';
import { StatusHistory } from './status-history.service';
import {
  STATUS_CLIENT_LIST_EVERY_SAMPLES,
  STATUS_CLIENT_LIST_LIMIT,
  STATUS_CLIENT_LIST_MIN_SAMPLES,
  STATUS_METRIC_SECTIONS,
  STATUS_RECENT_SECONDS,
  STATUS_RTT_WINDOW_SECONDS,
} from './status.constants';

type Sample = Awaited<ReturnType<NonNullable<ReturnType<Registry['getSingleMetric']>>['get']>>;

const RTT_METRIC = 'lifeline_heartbeat_rtt_seconds';

/** Sum of a metric's samples (all label sets). */
const sum = (sample: Sample | undefined) => sample?.values.reduce((total, v) => total + v.value, 0) ?? 0;

/** A metric's samples by the value of one label. */
function byLabel(sample: Sample | undefined, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of sample?.values ?? []) {
    const key = (v.labels as Record<string, string | number | undefined>)[label];
    if (key !== undefined) out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}

/**
 * Takes one status sample: the registry's metrics (the same figures as
 * /metrics), the heartbeat, the registry size, the cluster view, process
 * figures and every section. Called by StatusFeed once per second while
 * someone watches; it keeps what a sample compares against the previous one
 * (CPU, event-loop utilisation, the RTT histogram over the last minute).
 *
 * It reads only lifeline_* metrics: collecting prom-client's default metrics
 * would reset the event-loop delay histogram that /metrics reports.
 */
@Injectable()
export class StatusSampler {
  private readonly sections = new Map<string, StatusSection>();
  private previous: { at: number; cpu: NodeJS.CpuUsage; elu: EventLoopUtilization } | undefined;
  /** RTT histogram readings of the last minute, oldest first. */
  private rttReadings: { at: number; buckets: Buckets }[] = [];
  /** Samples since the client list was last sent, and the churn it saw (connects + disconnects). */
  private samplesSinceList = Number.POSITIVE_INFINITY;
  private listChurn = -1;

  constructor(
    private readonly metrics: MetricsService,
    private readonly registry: ClientRegistryService,
    private readonly heartbeat: HeartbeatService,
    private readonly lifecycle: LifecycleService,
    private readonly backpressure: BackpressureService,
    private readonly history: StatusHistory,
    private readonly cluster: ClusterStatusReader,
    private readonly topics: TopicsService,
  ) {}

  addSection(section: StatusSection): void {
    if (this.sections.has(section.id) || STATUS_METRIC_SECTIONS.some((s) => s.id === section.id)) {
      throw new Error(`status section "${section.id}" exists already`);
    }
    this.sections.set(section.id, section);
  }

  removeSection(id: string): boolean {
    return this.sections.delete(id);
  }

  /** Forgets what the next sample would compare against (the feed stopped). */
  reset(): void {
    this.previous = undefined;
    this.rttReadings = [];
    this.samplesSinceList = Number.POSITIVE_INFINITY;
    this.listChurn = -1;
  }

  /**
   * The oldest clients, for the page's list, when due: every few samples, or
   * sooner after clients came or went. Undefined when not due (the page keeps
   * the last list). Part of the shared feed, so 50 open pages cost one list,
   * not 50 requests.
   */
  clientList(snapshot: StatusSnapshot): StatusClientsPage | undefined {
    this.samplesSinceList++;
    const churn = snapshot.clients.connectsTotal + snapshot.clients.disconnectsTotal;
    const due =
      this.samplesSinceList >= STATUS_CLIENT_LIST_EVERY_SAMPLES ||
      (churn !== this.listChurn && this.samplesSinceList >= STATUS_CLIENT_LIST_MIN_SAMPLES);
    if (!due) return undefined;
    this.samplesSinceList = 0;
    this.listChurn = churn;
    return searchClients(this.registry, this.topics, '', STATUS_CLIENT_LIST_LIMIT);
  }

  async sample(viewers: number, now = Date.now()): Promise<StatusSnapshot> {
    const read = (name: string) => this.metrics.registry.getSingleMetric(name)?.get();
    const [connections, disconnections, sweeps, reaps, pingsToClosed, rejections, rateLimited, cleanupFailures, rtt, cluster, sections] =
      await Promise.all([
        read('lifeline_connections_total'),
        read('lifeline_disconnections_total'),
        read('lifeline_heartbeat_sweeps_total'),
        read('lifeline_heartbeat_reaps_total'),
        read('lifeline_pings_to_closed_total'),
        read('lifeline_rejections_total'),
        read('lifeline_rate_limited_messages_total'),
        read('lifeline_cleanup_failures_total'),
        read(RTT_METRIC),
        this.cluster.read(),
        this.sampleSections(),
      ]);
    const second = Math.floor(now / 1000);
    const lastSecond = second - 1;
    const status = this.heartbeat.status(now);
    return {
      at: now,
      node: {
        id: cluster?.nodeId ?? null,
        pid: process.pid,
        uptimeS: Math.round(process.uptime()),
        nodeVersion: process.version,
        accepting: this.lifecycle.accepting,
      },
      process: this.processFigures(now),
      clients: {
        local: this.registry.size,
        cluster: clusterClients(cluster),
        connectsPerSec: this.history.connects.total(lastSecond),
        disconnectsPerSec: this.history.disconnects.total(lastSecond),
        connectsTotal: sum(connections),
        disconnectsTotal: sum(disconnections),
      },
      disconnectsByReason: byLabel(disconnections, 'reason'),
      recent: {
        connects: this.history.connects.series(second - STATUS_RECENT_SECONDS, second),
        disconnects: this.history.disconnects.series(second - STATUS_RECENT_SECONDS, second),
      },
      heartbeat: {
        intervalMs: status.intervalMs,
        timeoutMs: status.timeoutMs,
        lastSweepAt: status.lastSweepAt ?? null,
        sinceLastSweepMs: status.sinceLastSweepMs,
        healthy: status.healthy,
        lastSweep: this.history.lastSweep,
        sweepsTotal: sum(sweeps),
        rtt: this.roundTrips(rtt, now),
        reapsByReason: byLabel(reaps, 'reason'),
        pingsToClosed: sum(pingsToClosed),
      },
      trouble: {
        cleanupFailuresByStep: byLabel(cleanupFailures, 'step'),
        slowConsumers: this.backpressure.flaggedCount,
        rateLimitedMessages: sum(rateLimited),
        rejectionsByReason: byLabel(rejections, 'reason'),
      },
      cluster,
      sections,
      viewers,
    };
  }

  /** CPU and event-loop utilisation since the previous sample (null on the first). */
  private processFigures(now: number): StatusSnapshot['process'] {
    const cpu = process.cpuUsage();
    const elu = performance.eventLoopUtilization();
    const prev = this.previous;
    this.previous = { at: now, cpu, elu };
    const memory = process.memoryUsage();
    const wallUs = prev ? (now - prev.at) * 1000 : 0;
    return {
      cpuPercent: prev && wallUs > 0 ? round1((100 * (cpu.user - prev.cpu.user + cpu.system - prev.cpu.system)) / wallUs) : null,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      eventLoopUtilization: prev ? round1(100 * performance.eventLoopUtilization(elu, prev.elu).utilization) : null,
    };
  }

  /** p50/p99 over the last minute of readings; since start until two readings exist. */
  private roundTrips(sample: Sample | undefined, now: number): StatusSnapshot['heartbeat']['rtt'] {
    const buckets = bucketsFromValues(sample?.values ?? []);
    this.rttReadings.push({ at: now, buckets });
    while (this.rttReadings.length > 1 && now - this.rttReadings[0].at > STATUS_RTT_WINDOW_SECONDS * 1000) {
      this.rttReadings.shift();
    }
    const oldest = this.rttReadings[0];
    const windowed = this.rttReadings.length > 1 ? bucketsDelta(buckets, oldest.buckets) : undefined;
    const useWindow = windowed !== undefined && (windowed.counts[windowed.counts.length - 1] ?? 0) > 0;
    const source = useWindow ? windowed : buckets;
    const toMs = (s: number | null) => (s === null ? null : Math.round(s * 1e6) / 1e3);
    return {
      p50Ms: toMs(histogramQuantile(0.5, source)),
      p99Ms: toMs(histogramQuantile(0.99, source)),
      samples: source.counts[source.counts.length - 1] ?? 0,
      windowS: useWindow ? Math.round((now - oldest.at) / 1000) : null,
    };
  }

  /** Metric sections by prefix (only those with metrics), then the added sections. */
  private async sampleSections(): Promise<StatusSectionSnapshot[]> {
    const out: StatusSectionSnapshot[] = [];
    const registry = this.metrics.registry;
    const names = registry.getMetricsAsArray().map((m) => m.name);
    for (const { id, title, prefixes } of STATUS_METRIC_SECTIONS) {
      const matching = names.filter((name) => prefixes.some((prefix) => name.startsWith(prefix)));
      if (matching.length === 0) continue;
      const rows: StatusRow[] = [];
      for (const name of matching) {
        const sample = await registry.getSingleMetric(name)?.get();
        if (sample) rows.push(...metricRows(sample));
      }
      out.push({ id, title, rows });
    }
    for (const section of this.sections.values()) {
      try {
        out.push({ id: section.id, title: section.title, rows: await section.sample() });
      } catch (err) {
        out.push({ id: section.id, title: section.title, rows: [{ name: 'error', value: err instanceof Error ? err.message : String(err) }] });
      }
    }
    return out;
  }
}

/** Rows of one metric; a histogram shows its count and sum, not its buckets. */
function metricRows(sample: Sample): StatusRow[] {
  return sample.values
    .filter((v) => {
      const name = (v as { metricName?: string }).metricName;
      return name === undefined || !name.endsWith('_bucket');
    })
    .map((v) => {
      const labels = Object.fromEntries(Object.entries(v.labels).map(([k, l]) => [k, String(l)]));
      return {
        name: (v as { metricName?: string }).metricName ?? sample.name,
        ...(Object.keys(labels).length > 0 && { labels }),
        value: v.value,
        help: sample.help,
      };
    });
}

function clusterClients(cluster: ClusterStatus | null): number | null {
  return cluster?.clients ?? null;
}

const round1 = (n: number) => Math.round(n * 10) / 10;
