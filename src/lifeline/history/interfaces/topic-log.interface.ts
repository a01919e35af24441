/** Where a topic's history stands: its epoch and the offset of its last message (0: none yet). */
export interface TopicPosition {
  epoch: string;
  offset: number;
}

/** A message as the log stored it: its offset and the serialised `message` frame. */
export interface LoggedMessage {
  offset: number;
  frame: string;
}

export interface Appended extends TopicPosition {
  /** Subscribers on this node it was sent to, when the log delivered it itself (memory mode). */
  recipients?: number;
}

/** Why a position could not be recovered. */
export type UnrecoverableReason = 'trimmed' | 'epoch_changed' | 'too_many';

/**
 * What readAfter found: every message after the position, up to the
 * topic's current position, in offset order; or why that is not possible.
 */
export type ReadAfter =
  | { ok: true; position: TopicPosition; messages: LoggedMessage[] }
  | { ok: false; position: TopicPosition | undefined; reason: UnrecoverableReason };

/**
 * A topic's history: consecutive offsets (1, 2, 3, …) per topic within an
 * epoch, and a bounded window of the latest messages. One interface, two
 * stores: MemoryTopicLog (one process) and RedisTopicLog (cluster), chosen at
 * module init (TopicsService.useLog).
 *
 * append() also hands the message over for delivery: the memory store to its
 * sink at once, the Redis store through Redis pub/sub in the same atomic
 * step, so every node — the origin included — delivers in offset order.
 */
export interface TopicLog {
  append(topic: string, data: unknown): Promise<Appended>;
  /** The topic's current position (creating its epoch if it has none). */
  position(topic: string): Promise<TopicPosition>;
  /** The messages after `offset` of `epoch`; at most `max` (more: too_many). Bounded reads only. */
  readAfter(topic: string, epoch: string, offset: number, max: number): Promise<ReadAfter>;
  /** Stored messages and their bytes, when this store knows them (memory mode). */
  stats(): { messages: number; bytes: number } | undefined;
  close(): void;
}

/** Delivers an appended message to this node's subscribers; returns how many got it. */
export type LogSink = (topic: string, frame: string, offset: number) => number;

export interface HistoryOptions {
  /** Messages kept per topic; 0 keeps none (offsets are still assigned). Default 1000. */
  size: number;
  /** How long a message is kept, in ms. Default 120000. */
  ttlMs: number;
  /** Memory store: bytes of all topics' messages together; the oldest are trimmed first. Default 64 MiB. */
  maxBytes: number;
  /** A resume that missed more messages than this on a topic gets `too_many`. Default 1000. */
  replayMaxMessages: number;
}
