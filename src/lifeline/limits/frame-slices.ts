import { performance } from 'node:perf_hooks';
import { PairFifo } from '../pair-fifo';

/** How long frames may run in one event-loop turn before the rest wait for the next. */
export const FRAME_SLICE_MS = 5;

/**
 * Frames share the event loop in slices.
 *
 * libuv hands a poll phase every socket that is readable, up to ~49,000 of
 * them, and each frame's handler runs inside its socket's callback. When
 * 15,000 clients send a frame at once (a reconnect storm re-subscribing),
 * one poll phase ran every handler back to back: 2.5–5 s without a timer
 * firing. The cluster lease could not be renewed, Redis replies sat unread
 * until their command timeout fired, and a busy, healthy node was reaped
 * as dead by its peers.
 *
 * So a turn runs frames until FRAME_SLICE_MS have passed since its first
 * one; later frames wait in one FIFO, drained by setImmediate a slice at a
 * time, so timers and I/O run between slices. While any frame waits, new
 * ones queue behind it (arrival order is kept). Each client has at most one
 * frame here: the one FrameOrder put in flight, its later frames wait on its
 * record, bounded as before. So the FIFO is bounded by the clients, and the
 * cheap case costs one clock read per frame and one setImmediate per turn.
 *
 * A handler's synchronous part is often the small part: the rest runs as
 * promise continuations after the slice's callback returns. So a slice is
 * also capped by a frame quota, set from what the last slice cost with its
 * continuations: a second immediate, queued with the slice, runs after the
 * microtasks the slice left and reads the clock.
 */
export class FrameSlices<C, F> {
  private turnArmed = false;
  private turnStart = 0;
  private drainScheduled = false;
  /** No object per waiting frame. */
  private readonly waitingFrames = new PairFifo<C, F>();
  /** Frames per slice, adapted to what a frame costs with its continuations. */
  private quota = 64;
  private sliceStart = 0;
  private sliceFrames = 0;

  constructor(
    private readonly run: (client: C, frame: F) => void,
    /** A frame that threw: reported, and the frames behind it still run. */
    private readonly onError: (err: unknown) => void,
    private readonly sliceMs = FRAME_SLICE_MS,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Frames waiting for a later turn. */
  get waiting(): number {
    return this.waitingFrames.length;
  }

  /** Frames the next slice may run at most (for tests and metrics). */
  get framesPerSlice(): number {
    return this.quota;
  }

  /**
   * True: handle the frame now. False: it was queued and `run` gets it in a
   * later turn (the caller must not handle it).
   */
  admit(client: C, frame: F, now = this.clock()): boolean {
    if (this.waitingFrames.length > 0) {
      this.enqueue(client, frame);
      return false;
    }
    if (!this.turnArmed) {
      this.turnArmed = true;
      this.turnStart = now;
      setImmediate(this.endTurn);
      return true;
    }
    if (now - this.turnStart < this.sliceMs) return true;
    this.enqueue(client, frame);
    return false;
  }

  private enqueue(client: C, frame: F): void {
    this.waitingFrames.push(client, frame);
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    // Queued together, so they run in the same check phase, with the
    // microtasks of the slice in between.
    setImmediate(this.drain);
    setImmediate(this.afterDrain);
  }

  /** The check phase after a poll phase: the next frame starts a new turn. */
  private readonly endTurn = (): void => {
    this.turnArmed = false;
  };

  private readonly drain = (): void => {
    this.sliceStart = this.clock();
    this.sliceFrames = 0;
    // A handler may admit more frames (a client's next one): they queue behind.
    while (this.sliceFrames < this.quota && this.waitingFrames.shift(this.runOne)) {
      if (this.clock() - this.sliceStart >= this.sliceMs) break;
    }
  };

  private readonly runOne = (client: C, frame: F): void => {
    this.sliceFrames++;
    try {
      this.run(client, frame);
    } catch (err) {
      this.onError(err);
    }
  };

  private readonly afterDrain = (): void => {
    this.drainScheduled = false;
    const cost = this.clock() - this.sliceStart;
    if (this.sliceFrames > 0 && cost > 0) {
      // Aim at the slice length; grow at most ×2 per slice, shrink at once.
      const fit = Math.floor((this.sliceFrames * this.sliceMs) / cost);
      this.quota = Math.max(1, Math.min(this.quota * 2, fit, 4096));
    }
    if (this.waitingFrames.length > 0) this.scheduleDrain();
  };
}
