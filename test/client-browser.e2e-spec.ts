import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type BrowserHarness, openHarness, pageRecord, startInPage } from './support/browser-page';
import { freePort, MAIN, spawnService, waitUntilUp } from './support/service-process';
import { waitFor } from './support/wait';

const GOOD = 'good-token-0123456789';
const INTERVAL = 1000;
const TIMEOUT = 500;

/**
 * The browser bundle in headless Chromium against the built service: a
 * browser cannot see protocol pings nor read an HTTP refusal, which is what
 * the application heartbeat and the 4xxx close codes are for.
 */
describe('client SDK in headless Chromium (browser bundle, built service)', () => {
  let harness: BrowserHarness;
  let service: ReturnType<typeof spawnService>;
  let base: string;
  let wsUrl: string;

  const publish = (topic: string, data: unknown) =>
    fetch(`${base}/topics/${topic}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(data),
    });

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first`);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    wsUrl = `ws://127.0.0.1:${port}/ws`;
    service = spawnService({
      PORT: String(port),
      HOST: '127.0.0.1',
      AUTH_MODE: 'token',
      AUTH_TOKENS: GOOD,
      HEARTBEAT_INTERVAL_MS: String(INTERVAL),
      HEARTBEAT_TIMEOUT_MS: String(TIMEOUT),
      SHUTDOWN_GRACE_MS: '300',
      LOG_LEVEL: 'warn',
    });
    [harness] = await Promise.all([openHarness(), waitUntilUp(`${base}/health/ready`)]);
  });

  afterAll(async () => {
    await harness?.close();
    service.child.kill('SIGCONT');
    service.child.kill('SIGTERM');
    await service.exited;
  });

  it('the example page (examples/browser, served by its one-line server) shows a live topic', async () => {
    const port = await freePort();
    const server = spawn(process.execPath, [join(__dirname, '..', 'examples', 'browser', 'serve.js')], {
      env: { PATH: process.env.PATH ?? '', PORT: String(port) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await waitUntilUp(`http://127.0.0.1:${port}/`);
      const page = await harness.browser.newPage();
      await page.goto(`http://127.0.0.1:${port}/?url=${encodeURIComponent(wsUrl)}&topic=demo&token=${GOOD}`);
      await page.waitForFunction(() => (globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }).document.getElementById('state').textContent === 'open');
      await waitFor(async () => {
        await publish('demo', 'hello from the test');
        return (await page.textContent('#log'))?.includes('hello from the test') ?? false;
      }, 'the message on the page');
      await page.close();
    } finally {
      server.kill();
    }
  });

  it('a bad token: the page learns "unauthorized" (close 4401), not a bare 1006, and stops', async () => {
    expect(await startInPage(harness.page, 'bad', wsUrl, { token: 'wrong' })).toBe('unauthorized');
    const record = await pageRecord(harness.page, 'bad');
    expect(record.errors).toEqual([expect.objectContaining({ code: 'unauthorized', closeCode: 4401 })]);
    expect(record.states.map((s) => s.state)).toEqual(['closed']);
  });

  it('subscribes and receives; a SIGSTOPped server shows as reconnecting within interval + timeout + 1 s; back after SIGCONT; close() leaves no listener', async () => {
    const { page } = harness;
    const listenersBefore = await page.evaluate(() => (globalThis as unknown as { listenerCount: number }).listenerCount);
    expect(await startInPage(page, 'live', wsUrl, { token: GOOD, connectTimeoutMs: 3000 }, 'live')).toBe('open');
    // 5 listeners while it lives: online, offline, pageshow on window; visibilitychange, resume on document.
    expect(await page.evaluate(() => (globalThis as unknown as { listenerCount: number }).listenerCount)).toBe(listenersBefore + 5);

    await waitFor(async () => (await publish('live', 0)).status === 202 && (await pageRecord(page, 'live')).received.length > 0, 'first message');
    for (let i = 1; i <= 3; i++) await publish('live', i);
    await waitFor(async () => (await pageRecord(page, 'live')).received.length >= 4, 'live messages', 5000);

    const stoppedAt = Date.now();
    service.child.kill('SIGSTOP');
    const noticed = waitFor(async () => (await pageRecord(page, 'live')).state === 'reconnecting', 'reconnecting', INTERVAL + TIMEOUT + 3000, 50);
    await noticed.finally(() => service.child.kill('SIGCONT'));
    const record = await pageRecord(page, 'live');
    const noticedMs = record.states.find((s) => s.state === 'reconnecting')!.at - stoppedAt;
    expect(noticedMs).toBeLessThanOrEqual(INTERVAL + TIMEOUT + 1000);
    expect(record.errors[0]).toMatchObject({ code: 'heartbeat_timeout' });

    await waitFor(async () => (await pageRecord(page, 'live')).state === 'open', 'open again', 8000, 50);
    await waitFor(
      async () => (await publish('live', 'after')).status === 202 && (await pageRecord(page, 'live')).received.some((m) => m.data === 'after'),
      'a message after the reconnect',
      5000,
    );
    const after = await pageRecord(page, 'live');
    expect(after.states.map((s) => s.state)).toEqual(['open', 'reconnecting', 'open']);
    expect(after.received.slice(0, 4).map((m) => m.data)).toEqual([0, 1, 2, 3]);

    await page.evaluate(() =>
      (globalThis as unknown as { lifeline: { clients: Record<string, { client: { close(): void } }> } }).lifeline.clients.live.client.close(),
    );
    expect(await page.evaluate(() => (globalThis as unknown as { listenerCount: number }).listenerCount)).toBe(listenersBefore);
    expect((await pageRecord(page, 'live')).state).toBe('closed');
  });
});
