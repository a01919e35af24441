import type { StatusClientsPage, StatusHello, StatusSnapshot } from '../interfaces';
import { authHeaders, errorMessage } from './auth';

export interface FeedHandlers {
  onOpen(): void;
  onHello(hello: StatusHello): void;
  onSample(sample: StatusSnapshot): void;
  onClients(page: StatusClientsPage): void;
}

export type FeedEnd = { kind: 'refused'; status: number; message: string } | { kind: 'ended' };

/**
 * Reads /status/feed: Server-Sent Events over fetch(), because EventSource
 * cannot send an Authorization header (and the token must not go in the
 * URL). Resolves when the stream ends or is refused; rejects on network
 * errors. Abort with the signal.
 */
export async function readFeed(token: string | null, handlers: FeedHandlers, signal: AbortSignal): Promise<FeedEnd> {
  const res = await fetch('/status/feed', {
    headers: { ...authHeaders(token), Accept: 'text/event-stream' },
    cache: 'no-store',
    signal,
  });
  if (!res.ok || !res.body) return { kind: 'refused', status: res.status, message: await errorMessage(res) };
  handlers.onOpen();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { kind: 'ended' };
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      dispatch(buffer.slice(0, end), handlers);
      buffer = buffer.slice(end + 2);
    }
  }
}

function dispatch(block: string, handlers: FeedHandlers): void {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  if (data.length === 0) return;
  const payload: unknown = JSON.parse(data.join('\n'));
  if (event === 'hello') handlers.onHello(payload as StatusHello);
  else if (event === 'sample') handlers.onSample(payload as StatusSnapshot);
  else if (event === 'clients') handlers.onClients(payload as StatusClientsPage);
}
