import type { Position } from './protocol';

export type Verdict =
  /** New: deliver it. `gap` set when offsets skipped (the app missed some), `epochChanged` when the history was reset. */
  | { deliver: true; replayed: boolean; gap?: boolean; epochChanged?: boolean }
  /** Seen already (same epoch, offset not above the last one): drop it. */
  | { deliver: false; replayed: boolean };

interface TopicState {
  epoch: string | undefined;
  offset: number;
  /** Messages of the current replay still to come. */
  replayLeft: number;
}

/**
 * Where the app is in each topic (epoch + last offset delivered), for
 * resume and for exactly-once delivery: a message whose offset is not above
 * the last one in the same epoch is a duplicate and never reaches the app.
 */
export class Positions {
  private readonly topics = new Map<string, TopicState>();

  /** The position to resume from; undefined when unknown. */
  get(topic: string): Position | undefined {
    const state = this.topics.get(topic);
    return state?.epoch === undefined ? undefined : { epoch: state.epoch, offset: state.offset };
  }

  has(topic: string): boolean {
    return this.get(topic) !== undefined;
  }

  /** All known positions, for the resume frame. */
  all(topics: Iterable<string>): Record<string, Position> {
    const out: Record<string, Position> = {};
    for (const topic of topics) {
      const position = this.get(topic);
      if (position) out[topic] = position;
    }
    return out;
  }

  /**
   * The server's position for a topic (`subscribed`): adopted unless the app
   * is already further on in the same epoch.
   */
  learn(topic: string, epoch: string | undefined, offset: number | undefined): void {
    if (epoch === undefined || offset === undefined) return;
    const state = this.state(topic);
    if (state.epoch === epoch && state.offset >= offset) return;
    state.epoch = epoch;
    state.offset = offset;
  }

  /** Forget a topic's position (unsubscribed, or the server could not recover it). */
  forget(topic: string): void {
    this.topics.delete(topic);
  }

  /** The next `count` messages of the topic are a replay. */
  expectReplay(topic: string, count: number): void {
    this.state(topic).replayLeft = count;
  }

  /** Decides about one incoming message. */
  judge(topic: string, epoch: string | undefined, offset: number | undefined): Verdict {
    const state = this.state(topic);
    const replayed = state.replayLeft > 0;
    if (replayed) state.replayLeft--;
    if (epoch === undefined || offset === undefined) return { deliver: true, replayed };
    if (state.epoch === undefined) {
      state.epoch = epoch;
      state.offset = offset;
      return { deliver: true, replayed };
    }
    if (state.epoch !== epoch) {
      state.epoch = epoch;
      state.offset = offset;
      return { deliver: true, replayed, epochChanged: true };
    }
    if (offset <= state.offset) return { deliver: false, replayed };
    const gap = offset > state.offset + 1;
    state.offset = offset;
    return gap ? { deliver: true, replayed, gap } : { deliver: true, replayed };
  }

  private state(topic: string): TopicState {
    let state = this.topics.get(topic);
    if (!state) {
      state = { epoch: undefined, offset: 0, replayLeft: 0 };
      this.topics.set(topic, state);
    }
    return state;
  }
}
