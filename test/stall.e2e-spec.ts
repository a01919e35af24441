import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, MAIN, spawnService, waitUntilUp } from './support/service-process';
import { requireBuild } from './support/cluster-nodes';
import { waitFor } from './support/wait';
import { TestClient } from './support/ws-client';

const CLIENTS = 30;
const ANSWER_AFTER_MS = 300;

/** The process state letter from /proc (R, S, T = stopped, …). */
function readState(pid: number | undefined): string {
  try {
    return /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

async function metric(base: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  if (!line) throw new Error(`metric ${name}{${labels}} not found`);
  return Number(line.split(' ')[1]);
}

/**
 * Issue 9, item 7: a stalled process (SIGSTOP for 2 s) must not reap clients
 * whose pongs arrived in the kernel buffer during the stall.
 */
describe(`a stall must not reap healthy clients (built service ${MAIN.split('/').slice(-2).join('/')}, SIGSTOP)`, () => {
  beforeAll(() => requireBuild());

  it('heartbeat 1000/500 ms, clients answer after 300 ms, the server is stopped 2 s right after a ping: nobody is reaped', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const { child, exited } = spawnService({
      PORT: String(port),
      HOST: '127.0.0.1',
      HEARTBEAT_INTERVAL_MS: '1000',
      HEARTBEAT_TIMEOUT_MS: '500',
      SHUTDOWN_GRACE_MS: '500',
      LOG_LEVEL: 'warn',
      NODE_OPTIONS: `--require ${join(__dirname, 'support', 'stop-self-on-sigusr2.js')}`,
    });
    const clients: TestClient[] = [];
    try {
      await waitUntilUp(`${base}/health/ready`);
      const joined = await Promise.all(
        Array.from({ length: CLIENTS }, () => TestClient.join(`ws://127.0.0.1:${port}/ws`, { autoPong: false })),
      );
      for (const client of joined) {
        // Answers each ping (echoing its payload) after 300 ms, inside the 500 ms timeout.
        client.socket.on('ping', (data: Buffer) => {
          setTimeout(() => {
            if (client.socket.readyState === client.socket.OPEN) client.socket.pong(data);
          }, ANSWER_AFTER_MS);
        });
        clients.push(client);
      }
      // Steady state: everyone has been pinged and answered at least once.
      await waitFor(() => clients.every((c) => c.pings >= 1), 'a ping each', 5000);
      expect(await metric(base, 'lifeline_heartbeat_reaps_total', 'reason="heartbeat_timeout"')).toBe(0);

      // Stop the server right after the next ping, from inside a turn of its
      // event loop (see the preload): the pongs arrive while it is stopped.
      const seen = clients[0].pings;
      await waitFor(() => clients[0].pings > seen, 'next ping', 3000, 1);
      child.kill('SIGUSR2');
      await waitFor(() => readState(child.pid) === 'T', 'server stopped', 1000, 1);
      await sleep(2000);
      child.kill('SIGCONT');

      // The overdue deadline and the overdue sweep have run; then one more sweep, answered.
      const after = clients[0].pings;
      await sleep(1500);
      expect(await metric(base, 'lifeline_heartbeat_reaps_total', 'reason="heartbeat_timeout"')).toBe(0);
      expect(clients.filter((c) => c.socket.readyState !== c.socket.OPEN)).toHaveLength(0);
      expect(clients.every((c) => c.pings > after)).toBe(true);
    } finally {
      for (const c of clients) c.socket.terminate();
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await exited;
    }
  });
});
