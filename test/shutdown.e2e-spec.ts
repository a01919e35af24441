import { existsSync } from 'node:fs';
import { freePort, logLines, MAIN, spawnService, waitUntilUp } from './support/service-process';
import { waitFor } from './support/wait';
import { TestClient } from './support/ws-client';

describe('graceful shutdown of the built service (real child process)', () => {
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first (npm test does)`);
  });

  it('on SIGTERM: readiness 503 at once, upgrades refused, clients closed 1001, cleanup awaited, stragglers terminated, exit 0', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const ws = `ws://127.0.0.1:${port}/ws`;
    const { child, exited } = spawnService({
      PORT: String(port),
      HOST: '127.0.0.1',
      SHUTDOWN_GRACE_MS: '1500',
      LOG_LEVEL: 'info',
    });
    await waitUntilUp(`${base}/health/ready`);

    const polite = await Promise.all([TestClient.join(ws), TestClient.join(ws), TestClient.join(ws)]);
    for (const c of polite) {
      c.send('subscribe', { topic: 'news' });
      await c.next('subscribed');
    }
    // A straggler: it stops reading, so it never answers the close frame.
    const straggler = await TestClient.join(ws);
    (straggler.socket as unknown as { _socket: { pause(): void } })._socket.pause();

    const signalledAt = Date.now();
    child.kill('SIGTERM');
    await waitFor(async () => (await fetch(`${base}/health/ready`)).status === 503, 'readiness 503', 1000);
    const readySeenMs = Date.now() - signalledAt;
    const ready = (await (await fetch(`${base}/health/ready`)).json());
    // Terminus reports its own shutdown state once its hook has run; both are 503.
    expect(ready).toMatchObject({ status: expect.stringMatching(/^(error|shutting_down)$/) });
    expect(await TestClient.refusal(ws)).toMatchObject({ status: 503, body: { message: 'server shutting down' } });

    expect(await Promise.all(polite.map((c) => c.closed))).toEqual([1001, 1001, 1001]);
    expect(polite.map((c) => c.closeReason)).toEqual(Array(3).fill('server shutting down'));

    const result = await exited;
    const tookMs = Date.now() - signalledAt;
    expect(result.code).toBe(0);
    expect(tookMs).toBeGreaterThanOrEqual(1500); // the straggler held it for the grace period...
    expect(tookMs).toBeLessThan(6000); // ...and no longer
    expect(readySeenMs).toBeLessThan(1000);

    const lines = logLines(result.stdout);
    // The pipeline ran to its end (its last line) for every client before exit.
    const disconnected = lines.filter((l) => l.msg === 'client disconnected');
    expect(disconnected.map((l) => l.clientId).sort()).toEqual([...polite, straggler].map((c) => c.id).sort());
    expect(new Set(disconnected.map((l) => l.reason))).toEqual(new Set(['server_shutdown']));
    expect(lines).toEqual(expect.arrayContaining([expect.objectContaining({ msg: 'shutdown grace period over; terminating' })]));
    expect(lines.filter((l) => typeof l.level === 'number' && l.level >= 50)).toEqual([]);
  });
});

describe('saturation: the open-file limit (real child process under ulimit -n)', () => {
  it('refuses upgrades with 503 before the limit, and health and metrics keep answering', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // 150 open files: the default cap is 150 - (100 + 3) = 47 clients.
    const { child, exited } = spawnService(
      { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', SHUTDOWN_GRACE_MS: '500' },
      { openFiles: 150 },
    );
    try {
      await waitUntilUp(`${base}/health`);
      const ws = `ws://127.0.0.1:${port}/ws`;
      const joined: TestClient[] = [];
      const refused: number[] = [];
      for (let i = 0; i < 60; i++) {
        try {
          joined.push(await TestClient.connect(ws));
        } catch (err) {
          refused.push(Number(/HTTP (\d+)/.exec(String(err))?.[1]));
        }
      }
      expect(joined).toHaveLength(47);
      expect(refused).toEqual(Array(13).fill(503));
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ details: { websocket: { clients: 47 } } });
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain('lifeline_rejections_total{reason="capacity"} 13');
      for (const c of joined) c.socket.terminate();
    } finally {
      child.kill('SIGTERM');
      expect((await exited).code).toBe(0);
    }
  });
});
