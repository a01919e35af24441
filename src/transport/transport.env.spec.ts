import { EnvValidationError, validateEnv } from '../config/env.validation';
import { nestTransportOptions } from './transport.options';

function problems(raw: Record<string, string>): string[] {
  try {
    validateEnv(raw);
  } catch (err) {
    if (err instanceof EnvValidationError) return err.problems;
    throw err;
  }
  return [];
}

describe('MICROSERVICE_* variables', () => {
  it('none by default; nats and redis with a URL of their scheme', () => {
    expect(validateEnv({}).MICROSERVICE_TRANSPORT).toBe('none');
    expect(validateEnv({ MICROSERVICE_TRANSPORT: 'nats', MICROSERVICE_URL: 'nats://127.0.0.1:4222' })).toMatchObject({
      MICROSERVICE_TRANSPORT: 'nats',
      MICROSERVICE_URL: 'nats://127.0.0.1:4222',
    });
    expect(problems({ MICROSERVICE_TRANSPORT: 'redis', MICROSERVICE_URL: 'rediss://h:6380', MICROSERVICE_PREFIX: 'blue.' })).toEqual([]);
  });

  it('refuses an unknown transport, a missing or mismatched URL, and a bad prefix, without echoing the URL', () => {
    expect(problems({ MICROSERVICE_TRANSPORT: 'kafka' })).toEqual(['MICROSERVICE_TRANSPORT: must be one of none, nats, redis (got "kafka")']);
    expect(problems({ MICROSERVICE_TRANSPORT: 'nats' })).toEqual(['MICROSERVICE_URL: is required when MICROSERVICE_TRANSPORT=nats']);
    expect(problems({ MICROSERVICE_TRANSPORT: 'nats', MICROSERVICE_URL: 'redis://u:secret@h:6379' })).toEqual([
      'MICROSERVICE_URL: must be a nats:// URL for MICROSERVICE_TRANSPORT=nats (value not shown)',
    ]);
    expect(problems({ MICROSERVICE_URL: 'http://x' })).toEqual([
      'MICROSERVICE_URL: must be a nats:// or redis:// URL with a host, e.g. nats://127.0.0.1:4222 (value not shown)',
    ]);
    expect(problems({ MICROSERVICE_PREFIX: 'has space' })).toHaveLength(1);
  });

  it('maps a Redis URL onto the Redis transport options (user, password, db, TLS)', () => {
    expect(nestTransportOptions({ transport: 'redis', url: 'rediss://app:p%40ss@cache:6380/2', prefix: '' }).options).toEqual({
      host: 'cache',
      port: 6380,
      username: 'app',
      password: 'p@ss',
      db: 2,
      tls: {},
    });
    expect(nestTransportOptions({ transport: 'nats', url: 'nats://n:4222', prefix: 'x.' }).options).toEqual({
      servers: ['nats://n:4222'],
      queue: 'x.lifeline',
    });
  });
});
