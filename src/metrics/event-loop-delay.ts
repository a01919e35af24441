import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, Histogram, type Registry } from 'prom-client';

/** Length of one observation window. */
export const EVENT_LOOP_WINDOW_MS = 1000;

/**
 * Event-loop delay as Prometheus sees it: Node's monitorEventLoopDelay
 * (10 ms resolution) read once per window; the window's longest delay is
 * observed into `lifeline_event_loop_delay_seconds` and kept in
 * `lifeline_event_loop_delay_max_seconds`. A stall of any origin (a large
 * cleanup, GC, no CPU) shows here, whatever the heartbeat's own slice gauge
 * says: a 2 s stall is a 2 s observation. Independent of scrapes, so two
 * scrapers do not reset each other's view.
 */
export class EventLoopDelayMetric {
  private readonly monitor: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly timer: NodeJS.Timeout;
  private readonly histogram: Histogram;
  private readonly max: Gauge;

  constructor(registry: Registry, windowMs = EVENT_LOOP_WINDOW_MS) {
    this.histogram = new Histogram({
      name: 'lifeline_event_loop_delay_seconds',
      help: `Longest event-loop delay in each ${windowMs} ms window (perf_hooks monitorEventLoopDelay).`,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.max = new Gauge({
      name: 'lifeline_event_loop_delay_max_seconds',
      help: `Longest event-loop delay in the last ${windowMs} ms window.`,
      registers: [registry],
    });
    this.monitor.enable();
    this.timer = setInterval(() => this.observe(), windowMs);
    this.timer.unref();
  }

  /** Closes the current window: observes its longest delay and starts a new one. */
  observe(): void {
    // A window with no sample (a stall longer than it) still has the late timer's own delay.
    const maxSeconds = this.monitor.count > 0 ? this.monitor.max / 1e9 : 0;
    this.monitor.reset();
    this.histogram.observe(maxSeconds);
    this.max.set(maxSeconds);
  }

  stop(): void {
    clearInterval(this.timer);
    this.monitor.disable();
  }
}
