import { DEFAULT_OPTIONS } from './constants';
import type { LifelineModuleOptions } from './interfaces/lifeline-options.interface';
import { resolveLifelineOptions } from './lifeline.options';
import { defaultMaxClients } from './limits/open-file-limit';

describe('resolveLifelineOptions', () => {
  it('applies every default when given nothing', () => {
    expect(resolveLifelineOptions({})).toStrictEqual({
      path: '/ws',
      heartbeatIntervalMs: 25_000,
      heartbeatTimeoutMs: 10_000,
      cleanupStepTimeoutMs: 5_000,
      shutdownGraceMs: 10_000,
      sweepSliceMs: 1,
      sharedReadBuffer: true,
      auth: { mode: 'none' },
      allowedOrigins: [],
      maxClients: defaultMaxClients(),
      maxPayloadBytes: 1024 * 1024,
      rateLimit: { perSecond: 50, burst: 100 },
      slowConsumer: { maxBufferedBytes: 4 * 1024 * 1024, graceMs: 10_000 },
      handshakeTimeoutMs: 10_000,
      allowBinary: false,
      sessionTtlMs: 120_000,
      history: { size: 1000, ttlMs: 120_000, maxBytes: 64 * 1024 * 1024, replayMaxMessages: 1000 },
      maxSubscriptionsPerClient: 1000,
      requireOrigin: false,
      defaultTopicPolicy: 'open',
      topicPolicyTimeoutMs: 5_000,
      presence: { graceMs: 5_000, batchMs: 1_000 },
    });
  });

  it('refuses a negative session TTL and history bounds out of range', () => {
    expect(() => resolveLifelineOptions({ sessionTtlMs: -1 })).toThrow(/sessionTtlMs/);
    const history = { size: 1000, ttlMs: 120_000, maxBytes: 1024, replayMaxMessages: 1000 };
    expect(() => resolveLifelineOptions({ history: { ...history, replayMaxMessages: 0 } })).toThrow(/history.replayMaxMessages/);
    expect(() => resolveLifelineOptions({ history: { ...history, size: -1 } })).toThrow(/history.size/);
    expect(resolveLifelineOptions({ sessionTtlMs: 0, history: { ...history, size: 0 } }).sessionTtlMs).toBe(0);
  });

  it('refuses a slow-consumer hard limit below the soft one', () => {
    expect(() =>
      resolveLifelineOptions({ slowConsumer: { maxBufferedBytes: 4096, graceMs: 100, hardLimitBytes: 1024 } }),
    ).toThrow('slowConsumer.hardLimitBytes (1024) must not be below slowConsumer.maxBufferedBytes (4096)');
  });

  it('keeps the values it is given and fills in the rest', () => {
    const resolved = resolveLifelineOptions({ path: '/live', heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 100 });
    expect(resolved).toStrictEqual({
      ...resolveLifelineOptions({}),
      path: '/live',
      heartbeatIntervalMs: 1000,
      heartbeatTimeoutMs: 100,
    });
  });

  it('treats an explicit undefined as unset, not as a value', () => {
    const resolved = resolveLifelineOptions({ heartbeatIntervalMs: undefined, path: undefined });
    expect(resolved.heartbeatIntervalMs).toBe(DEFAULT_OPTIONS.heartbeatIntervalMs);
    expect(resolved.path).toBe(DEFAULT_OPTIONS.path);
  });

  it('does not change the options object it is given', () => {
    const options: LifelineModuleOptions = { heartbeatIntervalMs: 60_000, heartbeatTimeoutMs: undefined };
    resolveLifelineOptions(options);
    expect(options).toStrictEqual({ heartbeatIntervalMs: 60_000, heartbeatTimeoutMs: undefined });
  });

  it.each([
    ['equal to', 1000],
    ['greater than', 1500],
  ])('rejects a heartbeatTimeoutMs %s heartbeatIntervalMs', (_how, timeout) => {
    expect(() => resolveLifelineOptions({ heartbeatIntervalMs: 1000, heartbeatTimeoutMs: timeout })).toThrow(
      `LifelineModule: heartbeatTimeoutMs (${timeout}) must be less than heartbeatIntervalMs (1000)`,
    );
  });

  it('rejects a default timeout against a shorter interval', () => {
    expect(() => resolveLifelineOptions({ heartbeatIntervalMs: 5000 })).toThrow(
      'heartbeatTimeoutMs (10000) must be less than heartbeatIntervalMs (5000)',
    );
  });

  it('accepts a timeout just below the interval', () => {
    expect(resolveLifelineOptions({ heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 999 }).heartbeatTimeoutMs).toBe(999);
  });

  const numericKeys = ['heartbeatIntervalMs', 'heartbeatTimeoutMs', 'cleanupStepTimeoutMs', 'sweepSliceMs'] as const;
  const cases = numericKeys.flatMap((key) => [0, -1, Number.NaN, Number.POSITIVE_INFINITY].map((value) => [key, value] as const));

  it.each(cases)('rejects %s = %p as not a positive number', (key, value) => {
    expect(() => resolveLifelineOptions({ [key]: value })).toThrow(
      `LifelineModule: ${key} must be a positive number (got ${String(value)})`,
    );
  });

  it('accepts a shutdown grace of 0 (terminate at once) and rejects a negative or non-finite one', () => {
    expect(resolveLifelineOptions({ shutdownGraceMs: 0 }).shutdownGraceMs).toBe(0);
    for (const value of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => resolveLifelineOptions({ shutdownGraceMs: value })).toThrow(
        `LifelineModule: shutdownGraceMs must be zero or more (got ${String(value)})`,
      );
    }
  });

  it('rejects a defaultTopicPolicy other than open or closed, and a topicPolicyTimeoutMs that is not positive', () => {
    expect(() => resolveLifelineOptions({ defaultTopicPolicy: 'ajar' as 'open' })).toThrow(
      'LifelineModule: defaultTopicPolicy must be "open" or "closed" (got ajar)',
    );
    expect(() => resolveLifelineOptions({ topicPolicyTimeoutMs: 0 })).toThrow(
      'LifelineModule: topicPolicyTimeoutMs must be a positive number (got 0)',
    );
  });

  it.each(['ws', '', 'ws/live'])('rejects path %p without a leading "/"', (path) => {
    expect(() => resolveLifelineOptions({ path })).toThrow(`LifelineModule: path must start with "/" (got "${path}")`);
  });
});
