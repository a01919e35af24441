/**
 * The `message` frame, `{"event":"message","data":{"topic":…,"data":…,"epoch":…,"offset":…}}`,
 * built by concatenation so a store (the Redis script included) can append
 * the epoch and offset it assigns to a head serialised once.
 */
export function messageFrameHead(topic: string, data: unknown): string {
  const body = data === undefined ? '' : `"data":${JSON.stringify(data)},`;
  return `{"event":"message","data":{"topic":${JSON.stringify(topic)},${body}"epoch":"`;
}

/** Completes a head from messageFrameHead; epochs are plain tokens (no quotes or escapes). */
export function messageFrameTail(epoch: string, offset: number): string {
  return `${epoch}","offset":${offset}}}`;
}

/**
 * The whole frame in one JSON.stringify: the same text as head + tail, but
 * one flat string (a concatenation is a tree of cons strings; kept in the
 * history, that tree cost about 2.5 times the text).
 */
export function messageFrame(topic: string, data: unknown, epoch: string, offset: number): string {
  return JSON.stringify({ event: 'message', data: data === undefined ? { topic, epoch, offset } : { topic, data, epoch, offset } });
}
