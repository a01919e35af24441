import { resolveClusterOptions } from './cluster.options';

describe('ClusterModule.forRoot(options) (resolveClusterOptions)', () => {
  it('applies the defaults of the environment variables', () => {
    const options = resolveClusterOptions({ redisUrl: 'redis://r:6379' });
    expect(options).toMatchObject({ redisUrl: 'redis://r:6379', keyPrefix: 'lifeline:', nodeTtlMs: 10_000, refreshMs: 3_333 });
    expect(options.nodeId).toMatch(/^[A-Za-z0-9._-]+-\d+-[0-9a-f]{8}$/);
  });

  it('refuses a URL that is not Redis and a TTL below 300 ms, naming the option', () => {
    expect(() => resolveClusterOptions({ redisUrl: 'http://r' })).toThrow('ClusterModule: redisUrl must be a redis:// or rediss:// URL');
    expect(() => resolveClusterOptions({ redisUrl: 'redis://r', nodeTtlMs: 100 })).toThrow('ClusterModule: nodeTtlMs must be a whole number of at least 300 (got 100)');
  });
});
