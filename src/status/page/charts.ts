import uPlot from 'uplot';
import type { PerSecondSeries } from '../interfaces';

/** Fixed colours for the known reasons (legend text names them too; colour is never the only cue). */
const REASON_COLOURS: Record<string, string> = {
  client_close: '#1a5fb4',
  connection_lost: '#8f5900',
  socket_error: '#b3261e',
  heartbeat_timeout: '#d14900',
  stale_socket: '#7b1fa2',
  server_shutdown: '#4d4d4d',
  payload_too_large: '#00796b',
  invalid_utf8: '#5d4037',
  unsupported_data: '#3949ab',
  kicked: '#c2185b',
  rate_limited: '#2e7d32',
  slow_consumer: '#6d4c41',
  node_lost: '#111111',
};
const FALLBACK = ['#0077b6', '#9c27b0', '#795548', '#607d8b', '#e65100', '#33691e'];

const colourOf = (key: string, index: number) => REASON_COLOURS[key] ?? FALLBACK[index % FALLBACK.length];

/**
 * The last minutes, second by second: connects, and disconnects by reason.
 * Filled from the feed's hello (the node's history) and corrected by the
 * last seconds each sample repeats.
 */
export class History {
  private readonly connects = new Map<number, number>();
  private readonly disconnects = new Map<number, Record<string, number>>();
  private latest = 0;

  constructor(private windowSeconds = 600) {}

  reset(windowSeconds: number): void {
    this.windowSeconds = windowSeconds;
    this.connects.clear();
    this.disconnects.clear();
    this.latest = 0;
  }

  merge(connects: PerSecondSeries, disconnects: PerSecondSeries): void {
    connects.seconds.forEach((second, i) => {
      this.connects.set(second, connects.series.connect?.[i] ?? 0);
      this.latest = Math.max(this.latest, second);
    });
    disconnects.seconds.forEach((second, i) => {
      const byReason: Record<string, number> = {};
      for (const [reason, counts] of Object.entries(disconnects.series)) if (counts[i]) byReason[reason] = counts[i];
      this.disconnects.set(second, byReason);
      this.latest = Math.max(this.latest, second);
    });
    const oldest = this.latest - this.windowSeconds;
    for (const map of [this.connects, this.disconnects]) {
      for (const second of map.keys()) if (second <= oldest) map.delete(second);
    }
  }

  /**
   * Seconds to draw, oldest first: the window, or only as far back as the
   * node has been up (at least two minutes), so a young node's data is not
   * squeezed against the right edge.
   */
  seconds(uptimeS = Number.POSITIVE_INFINITY): number[] {
    const span = Math.min(this.windowSeconds, Math.max(120, Math.ceil(uptimeS) + 1));
    const out: number[] = [];
    for (let s = this.latest - span + 1; s <= this.latest; s++) out.push(s);
    return out;
  }

  connectsAt(second: number): number {
    return this.connects.get(second) ?? 0;
  }

  disconnectsAt(second: number): Record<string, number> {
    return this.disconnects.get(second) ?? {};
  }

  /** Disconnects per reason over the last `seconds` seconds. */
  recentByReason(seconds: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [second, byReason] of this.disconnects) {
      if (second <= this.latest - seconds) continue;
      for (const [reason, n] of Object.entries(byReason)) out[reason] = (out[reason] ?? 0) + n;
    }
    return out;
  }
}

const pad = (n: number) => String(n).padStart(2, '0');
/** Local clock time of an epoch second: 14:05, or 14:05:30 when not on the minute. */
function clockLabel(second: number): string {
  const d = new Date(second * 1000);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return d.getSeconds() === 0 ? hm : `${hm}:${pad(d.getSeconds())}`;
}

function chartSize(container: HTMLElement): { width: number; height: number } {
  const width = Math.max(260, container.clientWidth);
  return { width, height: width < 500 ? 180 : 220 };
}

/** A uPlot line chart that follows its container's width. */
class LineChart {
  private plot: uPlot | undefined;
  private keys: string[] = [];
  private readonly observer: ResizeObserver;

  constructor(
    private readonly container: HTMLElement,
    private readonly yLabel: string,
  ) {
    this.observer = new ResizeObserver(() => this.plot?.setSize(chartSize(this.container)));
    this.observer.observe(container);
  }

  draw(x: number[], series: { key: string; label: string; colour: string; values: number[] }[]): void {
    const keys = series.map((s) => s.key);
    if (!this.plot || keys.join('|') !== this.keys.join('|')) {
      this.plot?.destroy();
      this.keys = keys;
      this.plot = new uPlot(
        {
          ...chartSize(this.container),
          scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
          // Plain clock labels, spaced so they never overlap (uPlot's first label carries the date).
          axes: [
            { stroke: '#333', space: 70, values: (_u, splits) => splits.map(clockLabel) },
            { stroke: '#333', label: this.yLabel, size: 50 },
          ],
          legend: { live: true },
          cursor: { drag: { x: false, y: false } },
          series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.colour, width: 2, points: { show: false } }))],
        },
        [x, ...series.map((s) => s.values)],
        this.container,
      );
      return;
    }
    this.plot.setData([x, ...series.map((s) => s.values)]);
  }
}

export class Charts {
  private readonly rates: LineChart;
  private readonly reasons: LineChart;

  constructor(rateContainer: HTMLElement, reasonContainer: HTMLElement) {
    this.rates = new LineChart(rateContainer, 'per second');
    this.reasons = new LineChart(reasonContainer, 'per second');
  }

  draw(history: History, knownReasons: readonly string[], uptimeS: number): void {
    const x = history.seconds(uptimeS);
    const perSecond = x.map((s) => history.disconnectsAt(s));
    this.rates.draw(x, [
      { key: 'connects', label: 'connects', colour: '#1a5fb4', values: x.map((s) => history.connectsAt(s)) },
      {
        key: 'disconnects',
        label: 'disconnects',
        colour: '#b3261e',
        values: perSecond.map((byReason) => Object.values(byReason).reduce((a, b) => a + b, 0)),
      },
    ]);
    // Every reason seen in the window, in the service's order; client_close at least, so the chart is never empty.
    const seen = new Set<string>(['client_close']);
    for (const byReason of perSecond) for (const reason of Object.keys(byReason)) seen.add(reason);
    const ordered = [...knownReasons.filter((r) => seen.has(r)), ...[...seen].filter((r) => !knownReasons.includes(r)).sort()];
    this.reasons.draw(
      x,
      ordered.map((reason, i) => ({
        key: reason,
        label: reason,
        colour: colourOf(reason, i),
        values: perSecond.map((byReason) => byReason[reason] ?? 0),
      })),
    );
  }
}
