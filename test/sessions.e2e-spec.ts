import { sign } from 'jsonwebtoken';
import { setTimeout as sleep } from 'node:timers/promises';
import { SessionsService } from '../src/lifeline';
import { type MessageData, SessionClient } from './support/session-client';
import { startTestApp, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';
import { TestClient } from './support/ws-client';

const SECRET = 'a-test-secret-that-is-at-least-32-characters';
/** Time for a frame that should not arrive to show up anyway. */
const QUIET_MS = 150;

/** Offsets from..to, inclusive. */
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const offsets = (messages: MessageData[]) => messages.map((m) => m.offset);

/** A WebSocket publisher that waits for each acknowledgement. */
async function publisher(t: TestApp): Promise<SessionClient> {
  return SessionClient.open(t.wsUrl);
}

let counter = 0;
async function publish(p: SessionClient, topic: string, count: number, tag = 'm'): Promise<number[]> {
  const acked: number[] = [];
  for (let i = 0; i < count; i++) {
    const id = `${tag}-${++counter}`;
    p.client.send('publish', { topic, data: { id }, id });
    const ack = (await p.client.next('published')).data as { id: string; offset: number };
    expect(ack.id).toBe(id);
    acked.push(ack.offset);
  }
  return acked;
}

describe('sessions and replay (memory mode)', () => {
  let t: TestApp;
  const apps: TestApp[] = [];
  const start = async (env: Record<string, string> = {}) => {
    const app = await startTestApp({ env });
    apps.push(app);
    return app;
  };

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  it('welcome carries a session; subscribed a position; message frames epoch and offset', async () => {
    t = await start();
    const c = await SessionClient.open(t.wsUrl);
    expect(c.session).toEqual({ id: c.client.id, token: expect.any(String) as string, ttlMs: 120_000 });
    // 192 random bits after the id.
    expect(c.session.token.split('.').pop()!.length).toBeGreaterThanOrEqual(32);
    const position = await c.subscribe('t');
    expect(position).toEqual({ epoch: expect.any(String) as string, offset: 0 });
    const http = await fetch(`${t.baseUrl}/topics/t/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 1 }),
    });
    expect(http.status).toBe(202);
    expect(await http.json()).toEqual({ topic: 't', recipients: 1, epoch: position.epoch, offset: 1 });
    const [message] = await c.take(1);
    expect(message).toEqual({ topic: 't', data: { hello: 1 }, epoch: position.epoch, offset: 1 });
    // The token is never logged.
    expect(JSON.stringify(t.logs.lines)).not.toContain(c.session.token);
  });

  it('1: resume after a dropped TCP connection replays exactly the 20 missed messages, in order, then live ones', async () => {
    t = await start();
    const p = await publisher(t);
    const c = await SessionClient.open(t.wsUrl);
    await c.subscribe('t');
    await publish(p, 't', 3);
    await c.take(3);
    const oldId = c.client.id;
    c.client.destroy(); // no close frame
    await waitFor(() => !t.registry.has(oldId), 'old connection cleaned up');
    expect(await publish(p, 't', 20)).toEqual(range(4, 23));

    const resumed = await c.resume(t.wsUrl);
    expect(resumed).toEqual({
      sessionId: c.session.id,
      token: expect.any(String) as string,
      topics: { t: { recovered: true, replayed: 20 } },
    });
    expect(offsets(await c.take(20))).toEqual(range(4, 23));
    await publish(p, 't', 5);
    expect(offsets(await c.take(5))).toEqual(range(24, 28));
    await sleep(QUIET_MS);
    expect(c.pending()).toEqual([]);
    expect(offsets(c.messages)).toEqual(range(1, 28));
    expect(await t.metric('lifeline_resumes_total', { result: 'recovered' })).toBe(1);
    expect(await t.metric('lifeline_replayed_messages_total')).toBe(20);
    const [line] = t.logs.entries('session resume');
    expect(line).toMatchObject({ result: 'recovered', replayed: 20, sessionId: c.session.id });
  });

  it('2: resume before any message, from the position in subscribed', async () => {
    t = await start();
    const p = await publisher(t);
    const c = await SessionClient.open(t.wsUrl);
    expect((await c.subscribe('quiet')).offset).toBe(0);
    c.client.destroy();
    await publish(p, 'quiet', 4);
    const resumed = await c.resume(t.wsUrl);
    expect(resumed.topics).toEqual({ quiet: { recovered: true, replayed: 4 } });
    expect(offsets(await c.take(4))).toEqual(range(1, 4));
    await sleep(QUIET_MS);
    expect(c.pending()).toEqual([]);
  });

  it('3: a half-open old connection still registered is cleaned up with reason resumed; the new one gets everything', async () => {
    // A long heartbeat: the stalled peer stays registered until the resume.
    t = await start({ HEARTBEAT_INTERVAL_MS: '20000', HEARTBEAT_TIMEOUT_MS: '10000' });
    const p = await publisher(t);
    const c = await SessionClient.open(t.wsUrl);
    await c.subscribe('t');
    await publish(p, 't', 2);
    await c.take(2);
    const old = c.client;
    old.socket.pause(); // stops reading, like a peer behind a dead network path
    await publish(p, 't', 10);
    expect(t.registry.has(old.id)).toBe(true);

    const resumed = await c.resume(t.wsUrl);
    expect(resumed.topics).toEqual({ t: { recovered: true, replayed: 10 } });
    await waitFor(() => !t.registry.has(old.id), 'old connection cleaned up');
    expect(await t.metric('lifeline_disconnections_total', { reason: 'resumed' })).toBe(1);
    expect(offsets(await c.take(10))).toEqual(range(3, 12));
    await publish(p, 't', 3);
    expect(offsets(await c.take(3))).toEqual(range(13, 15));
    await sleep(QUIET_MS);
    expect(c.pending()).toEqual([]);
    // The old connection's cleanup did not start the session's TTL: it belongs to the new one.
    c.client.destroy();
    const again = await c.resume(t.wsUrl);
    expect(again.sessionId).toBe(c.session.id);
  });

  it('4: refusals: unknown token, expired session, another user\'s token (JWT); the connection stays a fresh session', async () => {
    t = await start({ SESSION_TTL_MS: '300', AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET });
    const as = (sub: string) => ({ headers: { authorization: `Bearer ${sign({ sub }, SECRET, { expiresIn: 60 })}` } });

    const fresh = await TestClient.connect(t.wsUrl, as('alice'));
    await fresh.next('welcome');
    fresh.send('resume', { token: 'no-such-session.abc' });
    expect((await fresh.next('resumed')).data).toEqual({ sessionId: null, reason: 'unknown_session' });
    // Right session id, wrong secret: the same answer, existence not revealed.
    const alice = await SessionClient.open(t.wsUrl, as('alice'));
    fresh.send('resume', { token: `${alice.session.id}.forged` });
    expect((await fresh.next('resumed')).data).toEqual({ sessionId: null, reason: 'unknown_session' });
    // Still a working connection with its own session.
    fresh.send('subscribe', { topic: 'x' });
    expect((await fresh.next('subscribed')).data).toMatchObject({ topic: 'x', offset: 0 });

    // Bob holding Alice's token.
    alice.client.destroy();
    const stolen = await alice.resume(t.wsUrl, {}, as('bob'));
    expect(stolen).toEqual({ sessionId: null, reason: 'forbidden' });
    // Alice herself may.
    expect((await alice.resume(t.wsUrl, {}, as('alice'))).sessionId).toBe(alice.session.id);

    // Expired: gone longer than SESSION_TTL_MS.
    alice.client.destroy();
    await sleep(600);
    expect(await alice.resume(t.wsUrl, {}, as('alice'))).toEqual({ sessionId: null, reason: 'expired' });
    for (const result of ['unknown_session', 'forbidden', 'expired']) {
      expect(await t.metric('lifeline_resumes_total', { result })).toBeGreaterThanOrEqual(1);
    }
    fresh.socket.terminate();
  });

  it('5: trimmed history, too many missed, and a changed epoch give recovered:false with the reason; subscribed from now on', async () => {
    t = await start({ HISTORY_SIZE: '5', REPLAY_MAX_MESSAGES: '8' });
    const p = await publisher(t);
    const c = await SessionClient.open(t.wsUrl);
    await c.subscribe('short');
    await c.subscribe('long');
    await c.subscribe('unlisted');
    c.client.destroy();
    await publish(p, 'short', 7); // 7 missed, 5 kept: trimmed
    await publish(p, 'long', 10); // 10 missed > 8: too_many
    const listed = { short: c.positions.short, long: c.positions.long };
    const resumed = await c.resume(t.wsUrl, listed);
    expect(resumed.topics).toEqual({
      short: { recovered: false, reason: 'trimmed' },
      long: { recovered: false, reason: 'too_many' },
      unlisted: { recovered: false, reason: 'no_position' },
    });
    expect(await t.metric('lifeline_resumes_total', { result: 'partial' })).toBe(1);
    // Subscriptions restored all the same: live messages from now on.
    await publish(p, 'short', 1);
    await publish(p, 'unlisted', 1);
    const live = await c.take(2);
    expect(live.map((m) => [m.topic, m.offset])).toEqual([
      ['short', 8],
      ['unlisted', 1],
    ]);
    await sleep(QUIET_MS);
    expect(c.pending()).toEqual([]);

    // A restart: memory mode loses sessions and history; the new process has new epochs.
    const before = { ...c.positions };
    await t.close();
    apps.splice(apps.indexOf(t), 1);
    t = await start({ HISTORY_SIZE: '5', REPLAY_MAX_MESSAGES: '8' });
    expect((await c.resume(t.wsUrl)).reason).toBe('unknown_session');
    const again = await SessionClient.open(t.wsUrl);
    await again.subscribe('short');
    again.client.destroy();
    const changed = await again.resume(t.wsUrl, { short: before.short });
    expect(changed.topics).toEqual({ short: { recovered: false, reason: 'epoch_changed' } });
  });

  it('6: the same publish id twice, also across a resume, is published once and acknowledged with the first offset', async () => {
    t = await start();
    const sub = await SessionClient.open(t.wsUrl);
    await sub.subscribe('orders');
    const pub = await SessionClient.open(t.wsUrl);
    pub.client.send('publish', { topic: 'orders', data: 'one', id: 'order-1' });
    pub.client.send('publish', { topic: 'orders', data: 'one', id: 'order-1' });
    const acks = [(await pub.client.next('published')).data, (await pub.client.next('published')).data];
    expect(acks).toEqual([
      { id: 'order-1', topic: 'orders', offset: 1 },
      { id: 'order-1', topic: 'orders', offset: 1 },
    ]);
    // The publisher drops before it saw an ack for order-2, resumes and sends it again.
    pub.client.send('publish', { topic: 'orders', data: 'two', id: 'order-2' });
    await pub.client.next('published');
    pub.client.destroy();
    expect((await pub.resume(t.wsUrl)).sessionId).toBe(pub.session.id);
    pub.client.send('publish', { topic: 'orders', data: 'two', id: 'order-2' });
    expect((await pub.client.next('published')).data).toEqual({ id: 'order-2', topic: 'orders', offset: 2 });
    pub.client.send('publish', { topic: 'orders', data: 'three', id: 'order-3' });
    expect((await pub.client.next('published')).data).toEqual({ id: 'order-3', topic: 'orders', offset: 3 });
    // Without an id nothing changes: no reply.
    pub.client.send('publish', { topic: 'orders', data: 'four' });
    expect((await sub.take(4)).map((m) => m.data)).toEqual(['one', 'two', 'three', 'four']);
    await sleep(QUIET_MS);
    expect(sub.pending()).toEqual([]);
    expect(pub.client.frames.filter((f) => f.event === 'published')).toEqual([]);
    // A bad id is a clear error.
    pub.client.send('publish', { topic: 'orders', data: 'x', id: '' });
    expect((await pub.client.next('error')).data).toMatchObject({ code: 'bad_request', event: 'publish' });
  });

  it('9: five resumes in a row with publishes between: no duplicates, no gaps', async () => {
    t = await start();
    const p = await publisher(t);
    const c = await SessionClient.open(t.wsUrl);
    await c.subscribe('a');
    await c.subscribe('b');
    let published = 0;
    for (let round = 0; round < 5; round++) {
      await publish(p, 'a', 3);
      await publish(p, 'b', 1);
      published += 3;
      await c.take(4);
      c.client.destroy();
      await publish(p, 'a', 2 + round);
      published += 2 + round;
      const resumed = await c.resume(t.wsUrl);
      expect(resumed.topics).toEqual({ a: { recovered: true, replayed: 2 + round }, b: { recovered: true, replayed: 0 } });
      await c.take(2 + round);
    }
    await sleep(QUIET_MS);
    expect(c.pending()).toEqual([]);
    expect(offsets(c.messages.filter((m) => m.topic === 'a'))).toEqual(range(1, published));
    expect(offsets(c.messages.filter((m) => m.topic === 'b'))).toEqual(range(1, 5));
  });

  it('publishes during the replay are delivered after it, once and in order', async () => {
    t = await start();
    const p = await publisher(t);
    const c = await SessionClient.open(t.wsUrl);
    await c.subscribe('busy');
    c.client.destroy();
    await publish(p, 'busy', 50);
    // Live publishes race the resume.
    const racing = (async () => {
      for (let i = 0; i < 30; i++) {
        await fetch(`${t.baseUrl}/topics/busy/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: String(i) });
      }
    })();
    await c.resume(t.wsUrl);
    await racing;
    await c.take(80);
    await sleep(QUIET_MS);
    expect(c.pending()).toEqual([]);
    expect(offsets(c.messages)).toEqual(range(1, 80));
  });

  it('sessions expire after their TTL through one shared timer; churn leaves nothing behind', async () => {
    t = await start({ SESSION_TTL_MS: '1200', HISTORY_TTL_MS: '200' });
    const sessions = t.app.get(SessionsService);
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const p = await publisher(t);
    const timersBefore = timers();
    for (let i = 0; i < 150; i++) {
      const c = await SessionClient.open(t.wsUrl);
      if (i % 2 === 0) c.client.send('subscribe', { topic: `churn-${i % 10}` });
      c.client.destroy();
    }
    await publish(p, 'churn-0', 5);
    await waitFor(() => t.registry.size === 1, 'only the publisher left');
    expect(sessions.store.size).toBeGreaterThan(50);
    // 50+ sessions waiting for their TTL: one expiry timer, not one each.
    expect(timers() - timersBefore).toBeLessThanOrEqual(5);
    // TTL, then the tombstone's TTL.
    await waitFor(() => sessions.store.size === 1, 'expired sessions gone', 8000);
    await waitFor(async () => (await t.metric('lifeline_history_messages')) === 0, 'history aged out', 3000);
    expect(await t.metric('lifeline_sessions')).toBe(1);
  });
});
