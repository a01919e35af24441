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

export function messageFrame(topic: string, data: unknown, epoch: string, offset: number): string {
  return messageFrameHead(topic, data) + messageFrameTail(epoch, offset);
}
