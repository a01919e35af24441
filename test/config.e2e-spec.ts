import { existsSync } from 'node:fs';
import { startApp } from '../src/bootstrap';
import { EnvValidationError } from '../src/config/env.validation';
import { CaptureLogger } from './support/capture-logger';
import { freePort, MAIN, spawnService } from './support/service-process';
import { TEST_ENV } from './support/test-app';
import { waitFor } from './support/wait';
import { TestClient } from './support/ws-client';

describe('configuration at start-up', () => {
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first (npm test does)`);
  });

  it.each<[Record<string, string>, RegExp]>([
    [{ HEARTBEAT_INTERVAL_MS: 'abc' }, /HEARTBEAT_INTERVAL_MS: must be a whole number from 10 to 3600000 \(got "abc"\)/],
    [
      { HEARTBEAT_INTERVAL_MS: '1000', HEARTBEAT_TIMEOUT_MS: '1000' },
      /HEARTBEAT_TIMEOUT_MS: must be less than HEARTBEAT_INTERVAL_MS \(1000\)/,
    ],
    [{ PORT: '70000' }, /PORT: must be a whole number from 0 to 65535 \(got "70000"\)/],
    [{ WS_PATH: 'ws' }, /WS_PATH: must start with "\/"/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent/],
  ])('the built service refuses to start with %p', async (env, message) => {
    const { exited } = spawnService({ PORT: '0', ...env });
    const result = await exited;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  it('startApp rejects a bad environment with an EnvValidationError naming each variable', async () => {
    const attempt = startApp({
      env: { ...TEST_ENV, HEARTBEAT_INTERVAL_MS: 'abc', CLEANUP_STEP_TIMEOUT_MS: '-5' },
      logger: new CaptureLogger(),
    });
    await expect(attempt).rejects.toBeInstanceOf(EnvValidationError);
    await expect(attempt).rejects.toThrow(/HEARTBEAT_INTERVAL_MS[\s\S]*CLEANUP_STEP_TIMEOUT_MS/);
  });

  it('the built service starts with a valid environment, serves, and exits 0 on SIGTERM after closing clients with 1001', async () => {
    const port = await freePort();
    const { child, exited } = spawnService({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        try {
          return (await fetch(`${base}/health`)).status === 200;
        } catch {
          return false;
        }
      },
      'service up',
      10_000,
      50,
    );
    const client = await TestClient.join(`ws://127.0.0.1:${port}/ws`);
    child.kill('SIGTERM');
    expect(await client.closed).toBe(1001);
    const result = await exited;
    expect(result.code).toBe(0);
    // JSON logs, one line per event, with the client's id and the reason.
    const lines = result.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ msg: 'client connected', clientId: client.id }),
        expect.objectContaining({ msg: 'client disconnected', clientId: client.id, reason: 'server_shutdown' }),
      ]),
    );
  });
});
