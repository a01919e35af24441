import type { StatusSnapshot } from '../../src/status';
import type { TestApp } from './test-app';

/** Reads the feed until a sample satisfies the predicate; resolves with it. */
export async function sampleWhere(app: Pick<TestApp, 'baseUrl'>, token: string, want: (s: StatusSnapshot) => boolean, timeoutMs = 8000): Promise<StatusSnapshot> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  let last: StatusSnapshot | undefined;
  try {
    const res = await fetch(`${app.baseUrl}/status/feed`, { headers: { Authorization: `Bearer ${token}` }, signal: abort.signal });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!block.startsWith('event: sample\n')) continue;
        last = JSON.parse(block.slice(block.indexOf('data: ') + 6)) as StatusSnapshot;
        if (want(last)) return last;
      }
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  throw new Error(`no matching sample within ${timeoutMs} ms; last: ${JSON.stringify(last?.cluster)}`);
}
