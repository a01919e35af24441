import { EnvValidationError, LOG_LEVELS, validateEnv } from './env.validation';

const DEFAULTS = {
  PORT: 3000,
  HOST: '0.0.0.0',
  WS_PATH: '/ws',
  HEARTBEAT_INTERVAL_MS: 25_000,
  HEARTBEAT_TIMEOUT_MS: 10_000,
  CLEANUP_STEP_TIMEOUT_MS: 5_000,
  SHUTDOWN_GRACE_MS: 10_000,
  LOG_LEVEL: 'info',
  AUTH_MODE: 'none',
  MAX_PAYLOAD_BYTES: 1024 * 1024,
  RATE_LIMIT_PER_SEC: 50,
  RATE_LIMIT_BURST: 100,
  SLOW_CONSUMER_MAX_BUFFERED_BYTES: 4 * 1024 * 1024,
  SLOW_CONSUMER_GRACE_MS: 10_000,
  HANDSHAKE_TIMEOUT_MS: 10_000,
  ALLOW_BINARY: false,
  SHARED_READ_BUFFER: true,
  PRESENCE_GRACE_MS: 5_000,
  PRESENCE_BATCH_MS: 1_000,
  SESSION_TTL_MS: 120_000,
  HISTORY_SIZE: 1000,
  HISTORY_TTL_MS: 120_000,
  HISTORY_MAX_BYTES: 64 * 1024 * 1024,
  REPLAY_MAX_MESSAGES: 1000,
  MICROSERVICE_TRANSPORT: 'none',
  MAX_SUBSCRIPTIONS_PER_CLIENT: 1000,
  REQUIRE_ORIGIN: false,
  HTTP_BODY_TIMEOUT_MS: 10_000,
  TOPIC_POLICY: 'open',
  TOPIC_POLICY_TIMEOUT_MS: 5_000,
};

/** Runs validateEnv expecting it to throw; returns the EnvValidationError. */
function rejectionOf(raw: Record<string, unknown>): EnvValidationError {
  let caught: unknown;
  try {
    validateEnv(raw);
  } catch (err) {
    caught = err;
  }
  if (!(caught instanceof EnvValidationError)) {
    throw new Error(`expected an EnvValidationError, got ${String(caught)}`);
  }
  return caught;
}

describe('validateEnv', () => {
  it('sessions and history: 0 turns sessions off; bounds are checked', () => {
    expect(validateEnv({ SESSION_TTL_MS: '0', HISTORY_SIZE: '0' })).toMatchObject({ SESSION_TTL_MS: 0, HISTORY_SIZE: 0 });
    expect(rejectionOf({ REPLAY_MAX_MESSAGES: '0', HISTORY_TTL_MS: 'soon' }).problems).toEqual([
      'HISTORY_TTL_MS: must be a whole number from 100 to 86400000 (got "soon")',
      'REPLAY_MAX_MESSAGES: must be a whole number from 1 to 1000000 (got "0")',
    ]);
  });

  it('applies the default of every variable when nothing is set', () => {
    expect(validateEnv({})).toEqual(DEFAULTS);
  });

  it('treats empty and blank strings as unset', () => {
    const blank = Object.fromEntries(Object.keys(DEFAULTS).map((key, i) => [key, i % 2 === 0 ? '' : '   ']));
    expect(validateEnv(blank)).toEqual(DEFAULTS);
  });

  it('returns only the variables it knows, converted to their types', () => {
    const env = validateEnv({
      PATH: '/usr/bin',
      PORT: '8080',
      HOST: ' 127.0.0.1 ',
      WS_PATH: '/live/v1',
      HEARTBEAT_INTERVAL_MS: '2000',
      HEARTBEAT_TIMEOUT_MS: '500',
      CLEANUP_STEP_TIMEOUT_MS: '1',
      SHUTDOWN_GRACE_MS: '0',
      LOG_LEVEL: 'debug',
      AUTH_MODE: 'token',
      AUTH_TOKENS: ' alpha , beta ',
      ALLOWED_ORIGINS: 'https://a.example,https://b.example',
      MAX_CLIENTS: '500',
      ALLOW_BINARY: 'true',
    });
    expect(env).toStrictEqual({
      ...DEFAULTS,
      AUTH_MODE: 'token',
      AUTH_TOKENS: ['alpha', 'beta'],
      ALLOWED_ORIGINS: ['https://a.example', 'https://b.example'],
      MAX_CLIENTS: 500,
      ALLOW_BINARY: true,
      PORT: 8080,
      HOST: '127.0.0.1',
      WS_PATH: '/live/v1',
      HEARTBEAT_INTERVAL_MS: 2000,
      HEARTBEAT_TIMEOUT_MS: 500,
      CLEANUP_STEP_TIMEOUT_MS: 1,
      SHUTDOWN_GRACE_MS: 0,
      LOG_LEVEL: 'debug',
    });
  });

  it.each([
    [{ AUTH_MODE: 'token' }, 'AUTH_TOKENS: is required when AUTH_MODE=token'],
    [{ AUTH_MODE: 'jwt' }, 'AUTH_JWT_SECRET: is required when AUTH_MODE=jwt'],
    [{ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: 'short' }, 'AUTH_JWT_SECRET: must be at least 32 characters'],
    [{ AUTH_MODE: 'basic' }, 'AUTH_MODE: must be one of none, token, jwt'],
    [{ AUTH_TOKENS: 'a,,b' }, 'AUTH_TOKENS: must be a comma-separated list without empty items'],
    [{ ALLOW_BINARY: 'yes' }, 'ALLOW_BINARY: must be true or false'],
    [{ ADMIN_TOKEN: 'tiny' }, 'ADMIN_TOKEN: must be at least 16 characters'],
    [{ MAX_PAYLOAD_BYTES: '8' }, 'MAX_PAYLOAD_BYTES: must be a whole number from 16 to 104857600'],
  ])('refuses the hardening setting %p', (raw, message) => {
    expect(rejectionOf(raw).message).toContain(message);
  });

  it.each([
    [{ TOPIC_POLICY: 'maybe' }, 'TOPIC_POLICY: must be one of open, closed (got "maybe")'],
    [{ TOPIC_POLICY_TIMEOUT_MS: '0' }, 'TOPIC_POLICY_TIMEOUT_MS: must be a whole number from 1 to 600000 (got "0")'],
  ])('refuses the topic permission setting %p', (raw, message) => {
    expect(rejectionOf(raw).message).toContain(message);
  });

  it('reads TOPIC_POLICY and TOPIC_POLICY_TIMEOUT_MS', () => {
    expect(validateEnv({ TOPIC_POLICY: 'closed', TOPIC_POLICY_TIMEOUT_MS: '250' })).toMatchObject({
      TOPIC_POLICY: 'closed',
      TOPIC_POLICY_TIMEOUT_MS: 250,
    });
  });

  it('never echoes a credential back in the message', () => {
    const message = rejectionOf({ REDIS_URL: 'http://user:hunter2-password@host', AUTH_JWT_SECRET: 'short-secret' }).message;
    expect(message).toContain('REDIS_URL: must be a redis:// or rediss:// URL');
    expect(message).toContain('AUTH_JWT_SECRET: must be at least 32 characters (value not shown)');
    expect(message).not.toMatch(/hunter2|short-secret/);
  });

  it('accepts numbers as well as strings', () => {
    expect(validateEnv({ PORT: 8080 }).PORT).toBe(8080);
  });

  it('rejects a non-numeric HEARTBEAT_INTERVAL_MS naming the variable, the rule and the value', () => {
    const err = rejectionOf({ HEARTBEAT_INTERVAL_MS: 'abc' });
    expect(err.name).toBe('EnvValidationError');
    expect(err).toBeInstanceOf(Error);
    expect(err.problems).toEqual(['HEARTBEAT_INTERVAL_MS: must be a whole number from 10 to 3600000 (got "abc")']);
    expect(err.message).toBe(
      'Invalid environment:\n  - HEARTBEAT_INTERVAL_MS: must be a whole number from 10 to 3600000 (got "abc")',
    );
  });

  it.each(['1.5', '-20', '1e5', '0x10'])('rejects %p as a whole number', (value) => {
    const err = rejectionOf({ CLEANUP_STEP_TIMEOUT_MS: value });
    expect(err.problems).toEqual([`CLEANUP_STEP_TIMEOUT_MS: must be a whole number from 1 to 600000 (got "${value}")`]);
  });

  it.each([
    ['equal to', '1000', '1000'],
    ['greater than', '1000', '1500'],
  ])('rejects a timeout %s the interval, naming HEARTBEAT_TIMEOUT_MS', (_how, interval, timeout) => {
    const err = rejectionOf({ HEARTBEAT_INTERVAL_MS: interval, HEARTBEAT_TIMEOUT_MS: timeout });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^HEARTBEAT_TIMEOUT_MS: must be less than HEARTBEAT_INTERVAL_MS \(1000\)/);
    expect(err.problems[0]).toContain(`(got "${timeout}")`);
  });

  it('checks the timeout against the interval also when the timeout is the default', () => {
    const err = rejectionOf({ HEARTBEAT_INTERVAL_MS: '5000' });
    expect(err.problems).toEqual([
      expect.stringMatching(/^HEARTBEAT_TIMEOUT_MS: must be less than HEARTBEAT_INTERVAL_MS \(5000\)/),
    ]);
  });

  it('accepts a timeout just below the interval', () => {
    const env = validateEnv({ HEARTBEAT_INTERVAL_MS: '1000', HEARTBEAT_TIMEOUT_MS: '999' });
    expect(env.HEARTBEAT_TIMEOUT_MS).toBe(999);
  });

  it.each(['65536', '99999', '-1'])('rejects PORT=%s as out of range', (port) => {
    const err = rejectionOf({ PORT: port });
    expect(err.problems).toEqual([`PORT: must be a whole number from 0 to 65535 (got "${port}")`]);
  });

  it.each([
    ['0', 0],
    ['65535', 65_535],
  ])('accepts PORT=%s at the edge of the range', (port, expected) => {
    expect(validateEnv({ PORT: port }).PORT).toBe(expected);
  });

  it.each(['ws', 'ws/', '/a b', '/ws?x=1', '/ws#top'])('rejects WS_PATH=%p', (path) => {
    const err = rejectionOf({ WS_PATH: path });
    expect(err.problems).toEqual([`WS_PATH: must start with "/" and contain no spaces, "?" or "#" (got "${path}")`]);
  });

  it('rejects a LOG_LEVEL that is not in the list, listing the allowed ones', () => {
    const err = rejectionOf({ LOG_LEVEL: 'verbose' });
    expect(err.problems).toEqual([
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")',
    ]);
  });

  it.each(LOG_LEVELS)('accepts LOG_LEVEL=%s', (level) => {
    expect(validateEnv({ LOG_LEVEL: level }).LOG_LEVEL).toBe(level);
  });

  it('reports several bad variables together, one problem each', () => {
    const err = rejectionOf({ PORT: '70000', WS_PATH: 'ws', LOG_LEVEL: 'loud', SHUTDOWN_GRACE_MS: 'soon' });
    expect(err.problems).toHaveLength(4);
    expect(err.problems).toEqual(
      expect.arrayContaining([
        'PORT: must be a whole number from 0 to 65535 (got "70000")',
        'WS_PATH: must start with "/" and contain no spaces, "?" or "#" (got "ws")',
        'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
        'SHUTDOWN_GRACE_MS: must be a whole number from 0 to 600000 (got "soon")',
      ]),
    );
    for (const problem of err.problems) expect(err.message).toContain(`  - ${problem}`);
  });

  it('hardening 2: SLOW_CONSUMER_HARD_LIMIT_BYTES must not be below the soft limit; the new variables parse', () => {
    const err = rejectionOf({ SLOW_CONSUMER_MAX_BUFFERED_BYTES: '65536', SLOW_CONSUMER_HARD_LIMIT_BYTES: '4096' });
    expect(err.problems).toEqual(['SLOW_CONSUMER_HARD_LIMIT_BYTES: must not be below SLOW_CONSUMER_MAX_BUFFERED_BYTES (65536) (got "4096")']);
    expect(
      validateEnv({ SLOW_CONSUMER_HARD_LIMIT_BYTES: '8388608', MAX_SUBSCRIPTIONS_PER_CLIENT: '5', REQUIRE_ORIGIN: 'true', HTTP_BODY_TIMEOUT_MS: '500' }),
    ).toMatchObject({ SLOW_CONSUMER_HARD_LIMIT_BYTES: 8388608, MAX_SUBSCRIPTIONS_PER_CLIENT: 5, REQUIRE_ORIGIN: true, HTTP_BODY_TIMEOUT_MS: 500 });
    expect(rejectionOf({ REQUIRE_ORIGIN: 'yes' }).problems).toEqual(['REQUIRE_ORIGIN: must be true or false (got "yes")']);
    expect(validateEnv({ SHARED_READ_BUFFER: 'false' })).toMatchObject({ SHARED_READ_BUFFER: false });
    expect(rejectionOf({ SHARED_READ_BUFFER: '0' }).problems).toEqual(['SHARED_READ_BUFFER: must be true or false (got "0")']);
  });
});
