import type { Redis } from 'ioredis';
import { ClusterNode, deleteKeys, inspector, REDIS_URL, requireBuild, TEST_NODE_TTL_MS, uniquePrefix } from './support/cluster-nodes';
import { waitFor } from './support/wait';

/** Issue 9, item 8: two processes must never share a NODE_ID unnoticed. */
describe('cluster mode: a duplicate NODE_ID', () => {
  let redis: Redis;
  let prefix: string;
  const nodes: ClusterNode[] = [];

  beforeAll(async () => {
    requireBuild();
    redis = await inspector();
  });
  afterAll(() => redis.quit());
  beforeEach(() => {
    prefix = uniquePrefix();
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
    await deleteKeys(redis, prefix);
  });

  it('a second process with a live node\'s NODE_ID refuses to start: exit 1, a message naming NODE_ID; the first is untouched', async () => {
    const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix };
    const first = await ClusterNode.start('twin', env);
    nodes.push(first);
    await first.ready();
    const client = await first.join();

    const second = await ClusterNode.start('twin', env);
    nodes.push(second);
    const result = await second.exited;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^lifeline: NODE_ID "twin" is in use by another live process \(host .*, pid \d+\); give every node its own NODE_ID\n$/);
    expect(result.stderr).not.toMatch(/^\s+at /m);

    expect((await first.health()).status).toBe(200);
    expect(await first.clusterView()).toEqual({ nodes: 1, clients: 1 });
    expect(await redis.hexists(`${prefix}node:twin:clients`, client.id)).toBe(1);
  });

  it('a live node that finds its lease taken by another process logs an error and reports it in /health until the lease is its own again', async () => {
    const node = await ClusterNode.start('taken', { REDIS_URL, REDIS_KEY_PREFIX: prefix });
    nodes.push(node);
    await node.ready();
    const other = JSON.stringify({ host: 'elsewhere', pid: 4242, since: 1, instance: 'another-process' });
    await redis.set(`${prefix}node:taken:lease`, other, 'PX', TEST_NODE_TTL_MS * 4);

    await waitFor(async () => (await node.health()).status === 503, '/health reports the conflict', 3000, 50);
    const health = await node.health();
    expect(health.body.details.cluster).toMatchObject({
      status: 'down',
      message: 'NODE_ID "taken" is in use by another live process (host elsewhere, pid 4242); give every node its own NODE_ID',
    });
    expect(await redis.get(`${prefix}node:taken:lease`)).toBe(other); // not overwritten
    expect(node.logs().filter((l) => l.level === 50 && String(l.msg).includes('NODE_ID "taken" is in use'))).toHaveLength(1);

    // The other process goes away: the lease is this node's again.
    await redis.del(`${prefix}node:taken:lease`);
    await waitFor(async () => (await node.health()).status === 200, 'healthy again', 3000, 50);
    expect(await node.clusterView()).toEqual({ nodes: 1, clients: 0 });
  });
});
