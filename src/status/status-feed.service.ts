import { type BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AsyncResource } from 'node:async_hooks';
import { Counter, Gauge } from 'prom-client';
import type { Env } from '../config/env.validation';
import { MetricsService } from '../metrics/metrics.service';
import type { StatusHello, StatusSection } from './interfaces';
import { StatusHistory } from './status-history.service';
import { StatusSampler } from './status-sampler';
import {
  STATUS_FEED_TIMER_NAME,
  STATUS_HISTORY_SECONDS,
  STATUS_MAX_VIEWER_BUFFER_BYTES,
  STATUS_MAX_VIEWERS,
  STATUS_SAMPLE_INTERVAL_MS,
} from './status.constants';
import { LifelineLogger } from '../lifeline';

/** One open status page, as the feed sees it: somewhere to write Server-Sent Events. */
export interface StatusViewer {
  /** Text, or the same bytes for every viewer (a sample is encoded once, not once per viewer). */
  write(chunk: string | Buffer): void;
  /** Bytes written but not yet sent (the page is not reading). */
  readonly buffered: number;
  end(): void;
}

/** A Server-Sent Events frame; JSON.stringify never emits a newline, so `data:` is one line. */
const sseFrame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * The one in-process feed behind every status page.
 *
 * While at least one viewer is connected, a timer takes one sample per
 * second (StatusSampler), serialises it once and writes the same text to
 * every viewer: 50 pages cost one sample and 50 writes. Events: `hello`
 * (history, first), `sample` (each second), `clients` (the oldest clients,
 * looked at every few seconds and after churn, sent when they changed). When the last viewer
 * leaves, the timer is deleted and nothing of the feed runs. The timer lives
 * in @nestjs/schedule's SchedulerRegistry under STATUS_FEED_TIMER_NAME, and
 * `lifeline_status_viewers` / `lifeline_status_samples_total` show it from
 * outside.
 */
@Injectable()
export class StatusFeed implements BeforeApplicationShutdown {
  private readonly logger = new LifelineLogger('Status');
  private readonly viewers = new Set<StatusViewer>();
  /**
   * The timer is created from the first viewer's request; without a scope of
   * its own it would carry that request's async context (its log bindings)
   * for as long as anyone watches.
   */
  private readonly scope = new AsyncResource('lifeline.status-feed');
  private readonly authRequired: boolean;
  private readonly samplesTotal: Counter;
  private sampling = false;
  private stopped = true;
  private closed = false;
  private lastFrame: Buffer | undefined;
  private lastClientsFrame: string | undefined;
  private failureLogged = false;

  constructor(
    private readonly sampler: StatusSampler,
    private readonly history: StatusHistory,
    private readonly scheduler: SchedulerRegistry,
    metrics: MetricsService,
    config: ConfigService<Env, true>,
  ) {
    this.authRequired = config.get('ADMIN_TOKEN', { infer: true }) !== undefined;
    const viewers = this.viewers;
    new Gauge({
      name: 'lifeline_status_viewers',
      help: 'Open status page feeds on this node.',
      registers: [metrics.registry],
      collect() {
        this.set(viewers.size);
      },
    });
    this.samplesTotal = new Counter({
      name: 'lifeline_status_samples_total',
      help: 'Samples the status feed took (one per second while someone watches).',
      registers: [metrics.registry],
    });
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  /** The sampling timer exists. */
  get running(): boolean {
    return !this.stopped;
  }

  /** Adds a section to every sample (e.g. from another module's onModuleInit). */
  addSection(section: StatusSection): void {
    this.sampler.addSection(section);
  }

  removeSection(id: string): boolean {
    return this.sampler.removeSection(id);
  }

  /**
   * Starts sending to a viewer: the hello (history) at once, the latest
   * sample if there is one, then a sample per second. Returns the
   * unsubscribe function, or a reason when the viewer is refused.
   */
  subscribe(viewer: StatusViewer): { unsubscribe: () => void } | { refused: string } {
    const refused = this.refusal();
    if (refused) return { refused };
    this.viewers.add(viewer);
    viewer.write(sseFrame('hello', this.hello()));
    if (this.stopped) this.start();
    else {
      if (this.lastFrame) viewer.write(this.lastFrame);
      if (this.lastClientsFrame) viewer.write(this.lastClientsFrame);
    }
    return { unsubscribe: () => this.unsubscribe(viewer) };
  }

  /** Why a new viewer would be refused now, if it would. */
  refusal(): string | undefined {
    if (this.closed) return 'shutting down';
    if (this.viewers.size >= STATUS_MAX_VIEWERS) return `too many status viewers (${STATUS_MAX_VIEWERS}); close another page`;
    return undefined;
  }

  beforeApplicationShutdown(): void {
    // Open streams would keep the HTTP server from closing.
    this.closed = true;
    for (const viewer of [...this.viewers]) viewer.end();
    this.viewers.clear();
    this.stop();
  }

  private unsubscribe(viewer: StatusViewer): void {
    if (!this.viewers.delete(viewer)) return;
    if (this.viewers.size === 0) this.stop();
  }

  private hello(): StatusHello {
    const second = Math.floor(Date.now() / 1000);
    const from = second - STATUS_HISTORY_SECONDS + 1;
    return {
      sampleIntervalMs: STATUS_SAMPLE_INTERVAL_MS,
      historySeconds: STATUS_HISTORY_SECONDS,
      connects: this.history.connects.series(from, second),
      disconnects: this.history.disconnects.series(from, second),
      authRequired: this.authRequired,
    };
  }

  private start(): void {
    this.stopped = false;
    const timer = this.scope.runInAsyncScope(() => setInterval(() => void this.tick(), STATUS_SAMPLE_INTERVAL_MS));
    this.scheduler.addInterval(STATUS_FEED_TIMER_NAME, timer);
    void this.tick();
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.scheduler.doesExist('interval', STATUS_FEED_TIMER_NAME)) this.scheduler.deleteInterval(STATUS_FEED_TIMER_NAME);
    this.lastFrame = undefined;
    this.lastClientsFrame = undefined;
    this.sampler.reset();
  }

  private async tick(): Promise<void> {
    // A slow sample (Redis) delays the next one instead of piling up.
    if (this.sampling) return;
    this.sampling = true;
    try {
      const snapshot = await this.sampler.sample(this.viewers.size);
      if (this.stopped) return;
      const list = this.sampler.clientList(snapshot);
      const sampleFrame = sseFrame('sample', snapshot);
      let text = sampleFrame;
      if (list) {
        const clientsFrame = sseFrame('clients', list);
        // Unchanged (the usual case between heartbeats): not sent again.
        if (clientsFrame !== this.lastClientsFrame) {
          this.lastClientsFrame = clientsFrame;
          text += clientsFrame;
        }
      }
      // Encoded once for all viewers.
      const frame = Buffer.from(text);
      this.lastFrame = text === sampleFrame ? frame : Buffer.from(sampleFrame);
      this.samplesTotal.inc();
      this.failureLogged = false;
      for (const viewer of [...this.viewers]) {
        if (viewer.buffered > STATUS_MAX_VIEWER_BUFFER_BYTES) {
          // Not reading: drop it rather than buffer without bound; its page reconnects.
          viewer.end();
          this.unsubscribe(viewer);
          continue;
        }
        viewer.write(frame);
      }
    } catch (err) {
      if (!this.failureLogged) {
        this.failureLogged = true;
        this.logger.warn({ msg: 'status sample failed', error: err instanceof Error ? err.message : String(err) });
      }
    } finally {
      this.sampling = false;
    }
  }
}
