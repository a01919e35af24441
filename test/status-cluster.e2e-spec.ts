import { deleteKeys, inspector, REDIS_URL, uniquePrefix } from './support/cluster-nodes';
import { sampleWhere } from './support/status-feed';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * The status feed in cluster mode: two in-process nodes on the real Redis
 * (a key prefix of their own, deleted afterwards). The page's cluster card
 * shows exactly this sample.
 */
const TOKEN = 'status-cluster-token-0123456789';

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
    const sample = await sampleWhere(a, TOKEN, (s) => s.cluster?.clients === 3 && s.cluster.nodes.length === 2);
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
