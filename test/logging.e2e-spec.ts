import { PinoLogger } from 'nestjs-pino';
import { storage } from 'nestjs-pino/storage';
import pino from 'pino';
import { startTestApp, type TestApp } from './support/test-app';

/** Access lines pino-http writes, captured at the stream its logger (and each request's child) writes to. */
function captureAccessLines(): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  const root = PinoLogger.root as unknown as Record<symbol, { write(line: string): boolean }>;
  jest.spyOn(root[pino.symbols.streamSym], 'write').mockImplementation((line: string) => {
    lines.push(JSON.parse(line) as Record<string, unknown>);
    return true;
  });
  return lines;
}

describe('probes and scrapes bypass the pino-http middleware', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('GET /health… and /metrics never enter AsyncLocalStorage (async_hooks stay off); other routes keep their access lines', async () => {
    const run = jest.spyOn(storage, 'run');
    t = await startTestApp({ env: { LOG_LEVEL: 'info' } });
    const lines = captureAccessLines();
    // Before Node 24 AsyncLocalStorage switches async_hooks on, for good, at its first run().
    const hooksOn = () => (storage as unknown as { enabled?: boolean }).enabled === true;

    for (const path of ['/health', '/health/live', '/health/ready', '/health/', '/metrics', '/metrics?name=x']) {
      expect([path, (await t.get(path)).status]).toEqual([path, 200]);
    }
    // A WebSocket client too: the upgrade never goes through Express.
    await t.join();
    expect(run).not.toHaveBeenCalled();
    expect(hooksOn()).toBe(false);
    expect(lines).toEqual([]);

    expect((await t.get('/clients')).status).toBe(200);
    expect(run).toHaveBeenCalledTimes(1);
    expect(lines).toEqual([
      expect.objectContaining({ msg: 'request completed', req: expect.objectContaining({ method: 'GET', url: '/clients' }) }),
    ]);
    if ('enabled' in storage) expect(hooksOn()).toBe(true);
  });
});
