import type { HeartbeatSettings } from './protocol';
import { Timer } from './host';

/**
 * Notices a dead server from the application side, in browsers too (which
 * cannot see protocol pings).
 *
 * Any frame from the server proves it alive. After `intervalMs` of silence
 * the client sends `{"event":"ping"}` (the server answers `pong`); if
 * nothing at all arrives within `timeoutMs` of that ping, the connection is
 * dead. So a dead server is noticed within interval + timeout of its last
 * frame, the same bound the server keeps for its clients, and a busy
 * connection never pings.
 *
 * One timer; every decision is taken from the clock when it wakes, never
 * from how many times it fired: a throttled background tab whose timer wakes
 * late pings then instead of declaring a healthy connection dead, and a ping
 * left unanswered past its deadline is caught whenever the timer (or a
 * probe) next runs.
 */
export class Liveness {
  private lastReceivedAt = 0;
  private pingSentAt: number | undefined;
  private readonly timer = new Timer();
  private running = false;

  constructor(
    private readonly settings: HeartbeatSettings,
    private readonly sendPing: () => void,
    private readonly onDead: (silentForMs: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.running = true;
    this.lastReceivedAt = this.now();
    this.pingSentAt = undefined;
    this.schedule(this.settings.intervalMs);
  }

  /** A frame arrived. Cheap on purpose: one clock read, no timer work. */
  received(): void {
    this.lastReceivedAt = this.now();
  }

  /** Check now (network back, tab visible again): ping at once unless a ping is already out. */
  probe(): void {
    if (!this.running) return;
    this.tick();
    if (this.running && this.pingSentAt === undefined) this.ping(this.now());
  }

  stop(): void {
    this.running = false;
    this.timer.clear();
    this.pingSentAt = undefined;
  }

  private tick(): void {
    if (!this.running) return;
    const now = this.now();
    const { intervalMs, timeoutMs } = this.settings;
    if (this.pingSentAt !== undefined) {
      if (this.lastReceivedAt >= this.pingSentAt) {
        this.pingSentAt = undefined; // answered, by the pong or by any other frame
      } else if (now - this.pingSentAt >= timeoutMs) {
        this.stop();
        this.onDead(now - this.lastReceivedAt);
        return;
      } else {
        this.schedule(this.pingSentAt + timeoutMs - now);
        return;
      }
    }
    const silence = now - this.lastReceivedAt;
    if (silence >= intervalMs) this.ping(now);
    else this.schedule(intervalMs - silence);
  }

  private ping(now: number): void {
    this.pingSentAt = now;
    this.sendPing();
    this.schedule(this.settings.timeoutMs);
  }

  private schedule(ms: number): void {
    // Never further than one interval ahead: a clock set back cannot park the check.
    this.timer.set(Math.min(Math.max(0, ms), this.settings.intervalMs), () => this.tick());
  }
}
