import { sign } from 'jsonwebtoken';
import { existsSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { LifelineClient, type PresenceEvent } from '../client/src';
import { type BrowserHarness, openHarness, pageRecord, startInPage } from './support/browser-page';
import { collect, watchClient } from './support/sdk';
import { freePort, MAIN, spawnService, waitUntilUp } from './support/service-process';
import { waitFor } from './support/wait';

const INTERVAL = 1000;
const TIMEOUT = 500;
const BOUND = INTERVAL + TIMEOUT + 1000;
/** The subscriber stays away this long after noticing the dead server, so messages are published while it is gone. */
const AWAY_MS = 2500;
const SECRET = 'resume-spec-secret-0123456789abcdef';
/** A JWT for one user, valid for `seconds`. */
const jwt = (seconds: number, sub = 'resume-user') => sign({ sub }, SECRET, { algorithm: 'HS256', expiresIn: seconds });
/** Presence grace and batch of the service: short, so "no leave after the grace" is seen quickly. */
const GRACE_MS = 1500;
const BATCH_MS = 200;

/** A TCP relay to the service whose connections can be cut (destroyed both ways, no close frame). */
async function relay(port: number): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((inbound) => {
    const outbound = new Socket();
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
    outbound.connect(port, '127.0.0.1', () => inbound.pipe(outbound).pipe(inbound));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${address.port}/ws`,
    cut: () => {
      for (const [inbound, outbound] of [...pairs]) {
        inbound.destroy();
        outbound.destroy();
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The SDK's resume against the real service's sessions (the server side is
 * issue 10, "Sessions that survive a drop"): after a dead server, a restart
 * and in the browser, every message arrives once and in order, or the app is
 * told to resync.
 */
describe('client SDK resume against the real service (child process)', () => {
  let port: number;
  let base: string;
  let wsUrl: string;
  let service: ReturnType<typeof spawnService>;
  const clients: LifelineClient[] = [];
  const sdk = (options: ConstructorParameters<typeof LifelineClient>[1] = {}) => {
    const client = new LifelineClient(wsUrl, { connectTimeoutMs: 3000, token: () => jwt(60), ...options });
    clients.push(client);
    return client;
  };
  const start = async () => {
    service = spawnService({
      PORT: String(port),
      HOST: '127.0.0.1',
      HEARTBEAT_INTERVAL_MS: String(INTERVAL),
      HEARTBEAT_TIMEOUT_MS: String(TIMEOUT),
      SHUTDOWN_GRACE_MS: '300',
      LOG_LEVEL: 'warn',
      AUTH_MODE: 'jwt',
      AUTH_JWT_SECRET: SECRET,
      PRESENCE_GRACE_MS: String(GRACE_MS),
      PRESENCE_BATCH_MS: String(BATCH_MS),
    });
    await waitUntilUp(`${base}/health/ready`);
  };
  const publish = async (topic: string, data: unknown) => {
    const res = await fetch(`${base}/topics/${topic}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(data),
    });
    expect(res.status).toBe(202);
  };
  /** SIGSTOP, wait for `noticed`, SIGCONT whatever happens; resolves with the stop time. */
  const stopUntil = async (noticed: () => Promise<void>) => {
    const stoppedAt = Date.now();
    service.child.kill('SIGSTOP');
    await noticed().finally(() => service.child.kill('SIGCONT'));
    return stoppedAt;
  };

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first`);
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    wsUrl = `ws://127.0.0.1:${port}/ws`;
    await start();
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  afterAll(async () => {
    service.child.kill('SIGCONT');
    service.child.kill('SIGTERM');
    await service.exited;
  });

  it('SIGSTOP → noticed within the bound → SIGCONT → resumed: every message published meanwhile once, in order; queued publishes acknowledged once', async () => {
    const sub = sdk({ reconnectDelay: () => AWAY_MS });
    const subSeen = watchClient(sub);
    const got = collect(sub, 'resume-t');
    const pub = sdk();
    const pubSeen = watchClient(pub);
    await Promise.all([sub.ready(), pub.ready()]);
    const sessionId = sub.sessionId;
    expect(sessionId).toEqual(expect.any(String));
    const first = await Promise.all([1, 2, 3].map((n) => pub.publish('resume-t', n)));
    await waitFor(() => got.length === 3, 'three live messages');

    const stoppedAt = await stopUntil(() =>
      waitFor(() => sub.state === 'reconnecting' && pub.state === 'reconnecting', 'both reconnecting', BOUND + 2000),
    );
    expect(subSeen.states[1].at - stoppedAt).toBeLessThanOrEqual(BOUND);
    expect(pubSeen.states[1].at - stoppedAt).toBeLessThanOrEqual(BOUND);
    // Published while the subscriber is away: queued by the SDK publisher, and over HTTP.
    const queued = [4, 5, 6, 7, 8].map((n) => pub.publish('resume-t', n));
    const acks = await Promise.all(queued);
    for (const n of [9, 10]) await publish('resume-t', n);
    expect(sub.state).toBe('reconnecting');

    await sub.ready();
    await waitFor(() => got.length === 10, 'every missed message', 5000);
    await publish('resume-t', 11);
    await waitFor(() => got.length === 11, 'live again');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(got.map((m) => m.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const offsets = got.map((m) => m.meta.offset!);
    expect(offsets).toEqual(offsets.map((_, i) => offsets[0] + i)); // consecutive: none lost, none twice
    expect(got.slice(3, 10).every((m) => m.meta.replayed)).toBe(true);
    expect(got[10].meta.replayed).toBe(false);
    expect([...first, ...acks].map((a) => a.offset)).toEqual(offsets.slice(0, 8));
    expect(sub.sessionId).toBe(sessionId);
    expect(subSeen.resyncs).toEqual([]);
    expect(pub.pendingPublishes).toBe(0);
  });

  it('a restart that loses the history (new epoch, sessions gone): one resync per topic with the reason, then live messages of the new epoch', async () => {
    const sub = sdk({ reconnectDelay: () => 300 });
    const seen = watchClient(sub);
    const a = collect(sub, 'restart-a');
    collect(sub, 'restart-b');
    await sub.ready();
    await publish('restart-a', 'before');
    await waitFor(() => a.length === 1, 'a message before the restart');
    const oldEpoch = a[0].meta.epoch;

    // A crash and a restart (SIGTERM would add the 5 s `shutting_down` retry hint to the test's time).
    service.child.kill('SIGKILL');
    await service.exited;
    await start();
    await waitFor(() => seen.states.length >= 3 && sub.state === 'open', 'open on the new server', 10_000);
    expect(seen.resyncs.map((r) => r.topic).sort()).toEqual(['restart-a', 'restart-b']);
    expect(new Set(seen.resyncs.map((r) => r.reason)).size).toBe(1);
    expect(['unknown_session', 'expired', 'epoch_changed']).toContain(seen.resyncs[0].reason);
    await waitFor(async () => {
      await publish('restart-a', 'after');
      return a.length > 1;
    }, 'a message after the restart');
    expect(a[1].meta.epoch).not.toBe(oldEpoch);
  });

  it('JWT expiry (close 4001): a token function is asked for a fresh token and the session resumes; a plain token ends closed with token_expired', async () => {
    let calls = 0;
    const renewing = sdk({ token: () => jwt(++calls === 1 ? 2 : 60) });
    const seen = watchClient(renewing);
    const got = collect(renewing, 'jwt-t');
    const fixed = sdk({ token: jwt(2) });
    const fixedSeen = watchClient(fixed);
    await Promise.all([renewing.ready(), fixed.ready()]);
    const sessionId = renewing.sessionId;
    await publish('jwt-t', 'before');
    // exp is in whole seconds (1-2 s left): the server closes both with 4001.
    await waitFor(() => seen.states.length >= 3 && renewing.state === 'open', 'renewed and resumed', 6000);
    await publish('jwt-t', 'after');
    await waitFor(() => got.length === 2, 'both messages');
    expect(got.map((m) => m.data)).toEqual(['before', 'after']);
    expect(seen.states.map((s) => s.state)).toEqual(['open', 'reconnecting', 'open']);
    expect(seen.errors).toEqual([]);
    expect(seen.resyncs).toEqual([]);
    expect(renewing.sessionId).toBe(sessionId);
    expect(calls).toBe(2);
    await waitFor(() => fixed.state === 'closed', 'the plain token closed', 3000);
    expect(fixedSeen.errors.map((e) => e.code)).toEqual(['token_expired']);
    expect(fixedSeen.errors[0].details.closeCode).toBe(4001);
  });

  it('presence: B sees A join; A\'s TCP is cut, A resumes within the grace with a fresh snapshot; B sees no leave', async () => {
    const tcp = await relay(port);
    try {
      const a = new LifelineClient(tcp.url, { connectTimeoutMs: 3000, token: () => jwt(60, 'p-a'), reconnectDelay: () => 100 });
      clients.push(a);
      const b = sdk({ token: () => jwt(60, 'p-b') });
      const aSeen = watchClient(a);
      const bEvents: PresenceEvent[] = [];
      b.on('presence', (e) => bEvents.push(e));
      b.subscribe('lobby', () => undefined, { presence: true });
      await b.ready();
      await waitFor(() => b.presence('lobby').some((m) => m.userId === 'p-b'), "B's own snapshot");
      a.subscribe('lobby', () => undefined, { presence: true });
      await a.ready();
      await waitFor(() => bEvents.some((e) => e.joins.some((j) => j.userId === 'p-a')), 'B sees A join');
      await waitFor(() => a.presence('lobby').length === 2, "A's snapshot");
      const sessionId = a.sessionId;

      tcp.cut();
      await waitFor(() => aSeen.states.length >= 3 && a.state === 'open', 'A resumed', GRACE_MS);
      expect(a.sessionId).toBe(sessionId);
      expect(aSeen.resyncs).toEqual([]);
      expect(a.presence('lobby').map((m) => m.userId).sort()).toEqual(['p-a', 'p-b']);
      await new Promise((resolve) => setTimeout(resolve, GRACE_MS + BATCH_MS + 500));
      expect(bEvents.flatMap((e) => e.leaves)).toEqual([]);
      expect(b.presence('lobby').map((m) => m.userId).sort()).toEqual(['p-a', 'p-b']);
    } finally {
      tcp.cut();
      await tcp.close();
    }
  });

  describe('in headless Chromium', () => {
    let harness: BrowserHarness;
    beforeAll(async () => {
      harness = await openHarness();
    });
    afterAll(async () => {
      await harness?.close();
    });

    it('server SIGSTOPped → reconnecting within the bound; resumed → every message published meanwhile arrives once, in order', async () => {
      const { page } = harness;
      expect(await startInPage(page, 'resumer', wsUrl, { token: jwt(300), connectTimeoutMs: 3000, fixedDelayMs: AWAY_MS }, 'browser-t')).toBe('open');
      await waitFor(async () => {
        await publish('browser-t', 0);
        return (await pageRecord(page, 'resumer')).received.length > 0;
      }, 'subscribed');
      const stoppedAt = await stopUntil(() =>
        waitFor(async () => (await pageRecord(page, 'resumer')).state === 'reconnecting', 'reconnecting', BOUND + 2000, 50),
      );
      const record = await pageRecord(page, 'resumer');
      expect(record.states.find((s) => s.state === 'reconnecting')!.at - stoppedAt).toBeLessThanOrEqual(BOUND);
      const before = record.received.length;
      for (let n = 1; n <= 10; n++) await publish('browser-t', `missed-${n}`);
      await waitFor(async () => (await pageRecord(page, 'resumer')).received.length >= before + 10, 'the missed messages', 8000, 50);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const after = await pageRecord(page, 'resumer');
      const missed = after.received.slice(before);
      expect(missed.map((m) => m.data)).toEqual(Array.from({ length: 10 }, (_, i) => `missed-${i + 1}`));
      expect(missed.every((m) => m.meta.replayed)).toBe(true);
      const offsets = after.received.map((m) => m.meta.offset!);
      expect(offsets).toEqual(offsets.map((_, i) => offsets[0] + i));
      expect(after.resyncs).toEqual([]);
      expect(after.states.map((s) => s.state)).toEqual(['open', 'reconnecting', 'open']);
    });
  });
});
