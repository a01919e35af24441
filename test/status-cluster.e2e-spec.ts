import type { StatusSnapshot } from '../src/status';
import { deleteKeys, inspector, REDIS_URL, uniquePrefix } from './support/cluster-nodes';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * The status feed in cluster mode: two in-process nodes on the real Redis
 * (a key prefix of their own, deleted afterwards). The page's cluster card
 * shows exactly this sample.
 */
const TOKEN = 'status-cluster-token-0123456789';

/** Reads the feed until a sample satisfies the predicate; resolves with it. */
async function sampleWhere(app: TestApp, want: (s: StatusSnapshot) => boolean, timeoutMs = 8000): Promise<StatusSnapshot> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  let last: StatusSnapshot | undefined;
  try {
    const res = await fetch(`${app.baseUrl}/status/feed`, { headers: { Authorization: `Bearer ${TOKEN}` }, signal: abort.signal });
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

describe('status feed in cluster mode', () => {
  const prefix = uniquePrefix();
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    const env = (node: string) => ({ ADMIN_TOKEN: TOKEN, REDIS_URL, REDIS_KEY_PREFIX: prefix, NODE_ID: node, NODE_TTL_MS: '1500' });
    [a, b] = await Promise.all([startTestApp({ env: env('status-a') }), startTestApp({ env: env('status-b') })]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    const redis = await inspector();
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  it('shows every node with its lease age and clients, the cluster total and Redis up', async () => {
    await Promise.all([a.join(), b.join(), b.join()]);
    const sample = await sampleWhere(a, (s) => s.cluster?.clients === 3 && s.cluster.nodes.length === 2);
    expect(sample.node.id).toBe('status-a');
    expect(sample.clients).toMatchObject({ local: 1, cluster: 3 });
    expect(sample.cluster).toMatchObject({ nodeId: 'status-a', redis: 'up', message: null, nodeTtlMs: 1500 });
    expect(sample.cluster?.nodes).toEqual([
      { id: 'status-a', self: true, leaseAgeMs: expect.any(Number), clients: 1 },
      { id: 'status-b', self: false, leaseAgeMs: expect.any(Number), clients: 2 },
    ]);
    for (const node of sample.cluster?.nodes ?? []) expect(node.leaseAgeMs).toBeLessThanOrEqual(1500);
  });
});
