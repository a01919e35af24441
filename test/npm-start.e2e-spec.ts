import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { requireBuild } from './support/cluster-nodes';
import { freePort, waitUntilUp } from './support/service-process';
import { waitFor } from './support/wait';
import { TestClient } from './support/ws-client';

const ROOT = join(__dirname, '..');

/** The service processes (node dist/main.js) listening on this port, with their environment. */
function services(port: number): { pid: number; environ: string[] }[] {
  const found: { pid: number; environ: string[] }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (environ.includes(`PORT=${port}`) && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('dist/main.js')) {
        found.push({ pid: Number(entry), environ });
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** A service npm left behind (what this test guards against) must not outlive the test. */
function killOrphans(port: number): void {
  for (const { pid } of services(port)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Issue 9, item 14: what a process manager does to `npm start`. */
describe('SIGTERM to the `npm start` process', () => {
  beforeAll(() => requireBuild());

  it('reaches Lifeline: clients get 1001, the service exits, npm exits 0', async () => {
    const port = await freePort();
    const npm = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', SHUTDOWN_GRACE_MS: '1000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(npm, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      await waitUntilUp(`http://127.0.0.1:${port}/health/ready`, 30_000);
      // The start script's environment reached node (glibc reads it at exec): no fastbins, so
      // no millisecond-long malloc_consolidate on the event loop (README, tuning).
      expect(services(port).map((s) => s.environ.filter((v) => v.startsWith('GLIBC_TUNABLES=')))).toEqual([['GLIBC_TUNABLES=glibc.malloc.mxfast=0']]);
      const client = await TestClient.join(`ws://127.0.0.1:${port}/ws`);
      npm.kill('SIGTERM');
      expect(await client.closed).toBe(1001);
      const [code, signal] = await exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      // Nothing is left listening.
      await waitFor(
        async () => {
          try {
            await fetch(`http://127.0.0.1:${port}/health/live`);
            return false;
          } catch {
            return true;
          }
        },
        'port closed',
        3000,
      );
    } catch (err) {
      throw new Error(`${String(err)}\n--- npm start output ---\n${output}`, { cause: err });
    } finally {
      if (npm.exitCode === null) npm.kill('SIGKILL');
      killOrphans(port);
    }
    if (process.env.DEBUG_NPM) console.log(output);
    expect(output).not.toMatch(/ERR!/);
  }, 45_000);
});
