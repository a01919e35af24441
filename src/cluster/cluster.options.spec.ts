import type { ConfigService } from '@nestjs/config';
import { CLUSTER_DEFAULTS, type Env, EnvValidationError, validateEnv } from '../config/env.validation';
import { decodeLogMessage } from './redis-topic-log';
import { ClusterKeys } from './cluster.constants';
import { clusterOptionsFromEnv, defaultNodeId, redactRedisUrl } from './cluster.options';

const configOf = (values: Partial<Env>) =>
  ({ get: (key: keyof Env) => values[key] }) as unknown as ConfigService<Env, true>;

const problemsOf = (raw: Record<string, unknown>): string[] => {
  try {
    validateEnv(raw);
  } catch (err) {
    if (err instanceof EnvValidationError) return err.problems;
    throw err;
  }
  return [];
};

describe('cluster configuration', () => {
  it('adds no cluster variable to the in-memory configuration', () => {
    const env = validateEnv({});
    for (const key of ['REDIS_URL', 'NODE_ID', 'REDIS_KEY_PREFIX', 'NODE_TTL_MS']) expect(key in env).toBe(false);
  });

  it.each(['redis://127.0.0.1:6379', 'rediss://user:secret@cache.example:6380/2', 'redis://localhost'])(
    'accepts REDIS_URL=%s',
    (url) => {
      expect(validateEnv({ REDIS_URL: url }).REDIS_URL).toBe(url);
    },
  );

  it.each(['http://127.0.0.1:6379', '127.0.0.1:6379', 'redis://', 'not a url'])('rejects REDIS_URL=%p', (url) => {
    expect(problemsOf({ REDIS_URL: url })).toEqual([
      `REDIS_URL: must be a redis:// or rediss:// URL with a host, e.g. redis://127.0.0.1:6379 (value not shown)`,
    ]);
  });

  it('checks NODE_TTL_MS, NODE_ID and REDIS_KEY_PREFIX', () => {
    expect(validateEnv({ NODE_TTL_MS: '1500', NODE_ID: 'pod-7.eu:1', REDIS_KEY_PREFIX: 'app:' })).toMatchObject({
      NODE_TTL_MS: 1500,
      NODE_ID: 'pod-7.eu:1',
      REDIS_KEY_PREFIX: 'app:',
    });
    expect(problemsOf({ NODE_TTL_MS: '299' })).toEqual(['NODE_TTL_MS: must be a whole number from 300 to 600000 (got "299")']);
    expect(problemsOf({ NODE_TTL_MS: '2s' })).toEqual(['NODE_TTL_MS: must be a whole number from 300 to 600000 (got "2s")']);
    expect(problemsOf({ NODE_ID: 'a b' })).toEqual(['NODE_ID: must be 1 to 128 letters, digits, ".", "_", ":" or "-" (got "a b")']);
    expect(problemsOf({ NODE_ID: 'x'.repeat(129) })).toHaveLength(1);
    expect(problemsOf({ REDIS_KEY_PREFIX: 'x'.repeat(101) })).toHaveLength(1);
  });

  it('applies the defaults when only REDIS_URL is set, with a node id of hostname, pid and random', () => {
    const options = clusterOptionsFromEnv(configOf({ REDIS_URL: 'redis://127.0.0.1:6379' }));
    expect(options).toEqual({
      redisUrl: 'redis://127.0.0.1:6379',
      nodeId: expect.stringContaining(`-${process.pid}-`),
      keyPrefix: CLUSTER_DEFAULTS.REDIS_KEY_PREFIX,
      nodeTtlMs: 10_000,
      refreshMs: 3333,
    });
    expect(CLUSTER_DEFAULTS.REDIS_KEY_PREFIX).toBe('lifeline:');
    expect(clusterOptionsFromEnv(configOf({ REDIS_URL: 'redis://x' })).nodeId).not.toBe(options.nodeId);
  });

  it('uses the variables when set', () => {
    expect(
      clusterOptionsFromEnv(configOf({ REDIS_URL: 'redis://x', NODE_ID: 'n1', REDIS_KEY_PREFIX: 'p:', NODE_TTL_MS: 1500 })),
    ).toEqual({ redisUrl: 'redis://x', nodeId: 'n1', keyPrefix: 'p:', nodeTtlMs: 1500, refreshMs: 500 });
    expect(() => clusterOptionsFromEnv(configOf({}))).toThrow(/REDIS_URL/);
  });

  it('makes default node ids that NODE_ID accepts, whatever the hostname', () => {
    for (const host of ['web-1.example.com', 'ünïcode host', '', 'x'.repeat(300)]) {
      const id = defaultNodeId(host, 4242);
      expect(() => validateEnv({ NODE_ID: id })).not.toThrow();
      expect(id).toContain('-4242-');
    }
  });

  it('never logs a password', () => {
    expect(redactRedisUrl('redis://user:secret@h:6379/0')).toBe('redis://user:***@h:6379/0');
    expect(redactRedisUrl('redis://h:6379')).toBe('redis://h:6379');
  });

  it('names every key and channel under the prefix', () => {
    const keys = new ClusterKeys('p:');
    expect([keys.nodes, keys.topics, keys.lease('n'), keys.clients('n'), keys.reapLock('n'), keys.inbox('n')]).toEqual([
      'p:nodes',
      'p:topics',
      'p:node:n:lease',
      'p:node:n:clients',
      'p:node:n:reaping',
      'p:node:n:inbox',
    ]);
  });

  it('decodes topic messages (as the append script publishes them) so that any topic and frame survive', () => {
    const frame = '{"event":"message","data":{"topic":"a\\nb","data":"x\\ny","epoch":"e","offset":7}}';
    const encoded = `[${JSON.stringify('a\nb')},7]\n${frame}`;
    expect(decodeLogMessage(encoded)).toEqual({ topic: 'a\nb', offset: 7, frame });
    expect(decodeLogMessage('no header')).toBeUndefined();
    expect(decodeLogMessage('{"not":"an array"}\nframe')).toBeUndefined();
    expect(decodeLogMessage('[1,2]\nframe')).toBeUndefined();
    expect(decodeLogMessage('["t","7"]\nframe')).toBeUndefined();
  });
});
