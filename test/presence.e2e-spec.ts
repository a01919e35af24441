import { EventEmitter2 } from '@nestjs/event-emitter';
import { sign } from 'jsonwebtoken';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  LifelineEvents,
  MemoryPresenceStore,
  type PresenceMember,
  type PresenceOfflineEvent,
  type PresenceOnlineEvent,
  PresenceEvents,
  PresenceService,
} from '../src/lifeline';
import { collect } from './support/events';
import { SessionClient } from './support/session-client';
import { startTestApp, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';
import { TestClient } from './support/ws-client';

const SECRET = 'presence-test-secret-of-at-least-32-chars';
const ADMIN = 'presence-admin-token-0123456789';
const GRACE_MS = 400;
const BATCH_MS = 500;
/** Scheduling slack on a busy shared machine, on top of the bounds under test. */
const SLACK_MS = 600;
/**
 * Heartbeat: slower than TEST_ENV's 200/100 ms. Server and 200 clients share
 * this process's event loop; a 100 ms pong deadline reaped healthy clients
 * whenever the loaded machine held the loop that long.
 */
const INTERVAL_MS = 1000;
const TIMEOUT_MS = 500;

interface PresenceDiff {
  topic: string;
  joins: PresenceMember[];
  leaves: Omit<PresenceMember, 'since'>[];
}

const token = (sub: string) => sign({ sub }, SECRET, { expiresIn: 300 });

interface ResumedTopic {
  recovered: boolean;
  presence?: { members: PresenceMember[]; count: number };
}
const diffs = (client: TestClient, topic: string): PresenceDiff[] =>
  client.frames.filter((f) => f.event === 'presence').map((f) => f.data as PresenceDiff).filter((d) => d.topic === topic);

describe('presence (one node)', () => {
  let t: TestApp;
  let online: PresenceOnlineEvent[];
  let offline: PresenceOfflineEvent[];

  const as = (userId: string, options: { autoPong?: boolean } = {}) =>
    t.join({ headers: { authorization: `Bearer ${token(userId)}` }, ...options });
  const subscribe = async (client: TestClient, topic: string) => {
    client.send('subscribe', { topic, presence: true });
    return (await client.next('subscribed')).data as { topic: string; presence: { members: PresenceMember[]; count: number } };
  };
  const offlineOf = (userId: string) => offline.filter((e) => e.userId === userId);
  const onlineOf = (userId: string) => online.filter((e) => e.userId === userId);
  const userView = async (userId: string) => (await t.get(`/presence/users/${encodeURIComponent(userId)}`)).body as Record<string, unknown>;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        HEARTBEAT_INTERVAL_MS: String(INTERVAL_MS),
        HEARTBEAT_TIMEOUT_MS: String(TIMEOUT_MS),
        AUTH_MODE: 'jwt',
        AUTH_JWT_SECRET: SECRET,
        PRESENCE_GRACE_MS: String(GRACE_MS),
        PRESENCE_BATCH_MS: String(BATCH_MS),
        // Enough for 200 subscribes at once.
        RATE_LIMIT_BURST: '1000',
      },
    });
    const events = t.app.get(EventEmitter2);
    online = collect(events, PresenceEvents.online);
    offline = collect(events, PresenceEvents.offline);
  });
  afterAll(() => t.close());

  it('1. two connections of a user: one closing keeps them online; both gone (TCP cut) → one offline event within the grace', async () => {
    const [a1, a2] = [await as('u1'), await as('u1')];
    await waitFor(() => onlineOf('u1').length === 1, 'u1 online');
    expect(await userView('u1')).toMatchObject({ userId: 'u1', online: true, connections: 2, nodes: ['local'] });

    await a1.close();
    await sleep(GRACE_MS + 2 * SLACK_MS);
    expect(offlineOf('u1')).toEqual([]);
    expect(await userView('u1')).toMatchObject({ online: true, connections: 1 });

    const cutAt = Date.now();
    a2.destroy();
    await waitFor(() => offlineOf('u1').length === 1, 'u1 offline', GRACE_MS + 3000);
    const tookMs = Date.now() - cutAt;
    expect(tookMs).toBeGreaterThanOrEqual(GRACE_MS - 20);
    expect(tookMs).toBeLessThanOrEqual(GRACE_MS + SLACK_MS);
    await sleep(200);
    expect(offlineOf('u1')).toHaveLength(1);
    expect(onlineOf('u1')).toHaveLength(1);
    expect(offlineOf('u1')[0]).toMatchObject({ userId: 'u1', reason: 'connection_lost' });
    expect(offlineOf('u1')[0].onlineForMs).toBeGreaterThan(GRACE_MS);
    expect(await userView('u1')).toEqual({ userId: 'u1', online: false, connections: 0, nodes: [], since: null });
  });

  it('2. a reconnect within the grace: no offline event, no leave diff', async () => {
    const watcher = await as('w2');
    await subscribe(watcher, 'room2');
    const first = await as('u2');
    const snapshot = await subscribe(first, 'room2');
    expect(snapshot.presence.members.map((m) => m.userId).sort()).toEqual(['u2', 'w2']);
    await waitFor(() => diffs(watcher, 'room2').some((d) => d.joins.some((j) => j.userId === 'u2')), 'join diff');

    first.destroy();
    await sleep(GRACE_MS / 4);
    const again = await as('u2');
    const back = await subscribe(again, 'room2');
    expect(back.presence.count).toBe(2);
    await sleep(GRACE_MS + BATCH_MS + SLACK_MS);
    expect(offlineOf('u2')).toEqual([]);
    expect(onlineOf('u2')).toHaveLength(1);
    expect(diffs(watcher, 'room2').flatMap((d) => d.leaves)).toEqual([]);
    // Only the first join: coming back within the grace is no change.
    expect(diffs(watcher, 'room2').flatMap((d) => d.joins).filter((j) => j.userId === 'u2')).toHaveLength(1);
  });

  it('3. topic presence: snapshot on subscribe; 200 joins in one window reach a member as at most 2 frames; leaves batched too', async () => {
    const watcher = await as('w3');
    const own = await subscribe(watcher, 'room3');
    expect(own.presence).toEqual({ members: [{ userId: 'w3', since: expect.any(Number) }], count: 1 });
    await sleep(BATCH_MS + 100);
    watcher.frames.length = 0;

    const joiners = await Promise.all(Array.from({ length: 200 }, (_, i) => as(`j${i}`)));
    const arrivals: number[] = [];
    const stamp = () => arrivals.push(Date.now());
    watcher.socket.on('message', stamp);
    for (const j of joiners) j.send('subscribe', { topic: 'room3', presence: true });
    await Promise.all(joiners.map((j) => j.next('subscribed')));
    await waitFor(() => diffs(watcher, 'room3').flatMap((d) => d.joins).length >= 200, '200 joins seen', 5000);
    await sleep(BATCH_MS + 100);
    const frames = diffs(watcher, 'room3');
    expect(new Set(frames.flatMap((d) => d.joins.map((j) => j.userId))).size).toBe(200);
    // The server's clock says when each joined. Within one window: at most 2
    // frames (the window may straddle a flush); spread wider on a loaded
    // machine, still at most one frame per window.
    const sinces = frames.flatMap((d) => d.joins.map((j) => j.since));
    const spreadMs = Math.max(...sinces) - Math.min(...sinces);
    expect(frames.length).toBeLessThanOrEqual(1 + Math.max(1, Math.ceil(spreadMs / BATCH_MS)));
    if (spreadMs < BATCH_MS) expect(frames.length).toBeLessThanOrEqual(2);
    for (let i = 1; i < arrivals.length; i++) expect(arrivals[i] - arrivals[i - 1]).toBeGreaterThanOrEqual(BATCH_MS - 50);
    watcher.socket.off('message', stamp);

    const http = (await t.get('/topics/room3/presence')).body as { topic: string; count: number; members: PresenceMember[] };
    expect(http.count).toBe(201);
    expect(http.members).toHaveLength(201);

    watcher.frames.length = 0;
    for (const j of joiners) j.destroy();
    await waitFor(() => diffs(watcher, 'room3').flatMap((d) => d.leaves).length >= 200, '200 leaves seen', GRACE_MS + 5000);
    await sleep(BATCH_MS + 100);
    expect(diffs(watcher, 'room3').length).toBeLessThanOrEqual(2);
    expect(((await t.get('/topics/room3/presence')).body as { count: number }).count).toBe(1);

    // An explicit unsubscribe leaves at once (next batch), without the grace.
    const quitter = await as('q3');
    await subscribe(quitter, 'room3');
    await waitFor(() => diffs(watcher, 'room3').some((d) => d.joins.some((j) => j.userId === 'q3')), 'q3 joined');
    const leftAt = Date.now();
    quitter.send('unsubscribe', { topic: 'room3' });
    await waitFor(() => diffs(watcher, 'room3').some((d) => d.leaves.some((l) => l.userId === 'q3')), 'q3 left', 3000);
    expect(Date.now() - leftAt).toBeLessThan(BATCH_MS + SLACK_MS);
    expect(await t.metric('lifeline_presence_diff_frames_total')).toBeGreaterThan(0);
  });

  it('each joiner in one window sees every member so far in its snapshot, itself included', async () => {
    const joiners = await Promise.all(Array.from({ length: 12 }, (_, i) => as(`sn${i}`)));
    const seen: string[][] = [];
    for (const j of joiners) seen.push((await subscribe(j, 'room-snap')).presence.members.map((m) => String(m.userId)));
    seen.forEach((ids, i) => expect(ids.sort()).toEqual(joiners.slice(0, i + 1).map((_, k) => `sn${k}`).sort()));
    // Unchanged since: the shared snapshot is what the operator API shows too.
    const http = (await t.get('/topics/room-snap/presence')).body as { count: number };
    expect(http.count).toBe(12);
    for (const j of joiners) j.destroy();
  });

  it('4. a half-open peer (never answers pings) is offline after interval + timeout + grace, never later', async () => {
    const events = t.app.get(EventEmitter2);
    let reapedAt = Number.NaN;
    const muted = await as('u4', { autoPong: false });
    const mutedAt = Date.now();
    const onReaped = (e: { clientId: string }) => {
      if (e.clientId === muted.id) reapedAt = Date.now();
    };
    events.on(LifelineEvents.reaped, onReaped);
    await waitFor(() => offlineOf('u4').length === 1, 'u4 offline', INTERVAL_MS + TIMEOUT_MS + GRACE_MS + 5000);
    const offlineAt = Date.now();
    events.off(LifelineEvents.reaped, onReaped);
    expect(offlineAt - mutedAt).toBeLessThanOrEqual(INTERVAL_MS + TIMEOUT_MS + GRACE_MS + SLACK_MS);
    // The grace runs from the reap, not longer.
    expect(offlineAt - reapedAt).toBeGreaterThanOrEqual(GRACE_MS - 20);
    expect(offlineAt - reapedAt).toBeLessThanOrEqual(GRACE_MS + SLACK_MS / 2);
    expect(offlineOf('u4')[0].reason).toBe('heartbeat_timeout');
  });

  it('HTTP: query up to 1,000 ids (400 beyond), bad ids refused; metrics', async () => {
    const alive = await as('q-alive');
    await waitFor(() => onlineOf('q-alive').length === 1, 'online');
    const res = await fetch(`${t.baseUrl}/presence/users/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userIds: ['q-alive', 'nobody', 'q-alive'] }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ online: ['q-alive'], offline: ['nobody'] });
    const tooMany = await fetch(`${t.baseUrl}/presence/users/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userIds: Array.from({ length: 1001 }, (_, i) => `x${i}`) }),
    });
    expect(tooMany.status).toBe(400);
    expect(((await tooMany.json()) as { message: string }).message).toMatch(/at most 1000/);
    const notArray = await fetch(`${t.baseUrl}/presence/users/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids: 'x' }),
    });
    expect(notArray.status).toBe(400);
    expect((await t.get('/topics/has%20space/presence')).status).toBe(400);
    expect(await t.metric('lifeline_presence_users')).toBeGreaterThanOrEqual(1);
    expect(await t.metric('lifeline_presence_transitions_total', { to: 'online' })).toBe(online.length);
    expect(await t.metric('lifeline_presence_transitions_total', { to: 'offline' })).toBe(offline.length);
    alive.socket.terminate();
  });

  it('presence follows the subscribe permission: a refused subscribe with presence: true joins nothing', async () => {
    const watcher = await as('wp');
    await subscribe(watcher, 'open-room');
    const limited = await t.join({
      headers: { authorization: `Bearer ${sign({ sub: 'limited', topics: { subscribe: ['open-room'] } }, SECRET, { expiresIn: 300 })}` },
    });
    limited.send('subscribe', { topic: 'secret-room', presence: true });
    expect((await limited.next('error')).data).toMatchObject({ code: 'forbidden', event: 'subscribe', topic: 'secret-room' });
    expect(((await t.get('/topics/secret-room/presence')).body as { count: number }).count).toBe(0);
    expect((await subscribe(limited, 'open-room')).presence.members.map((m) => m.userId).sort()).toEqual(['limited', 'wp']);
  });

  it('a bad subscribe body gets an error frame naming the field', async () => {
    const c = await as('bad');
    c.send('subscribe', { topic: 'x', presence: 'yes' });
    const error = await c.next('error');
    expect(error.data).toMatchObject({ code: 'bad_request', event: 'subscribe' });
    expect((error.data as { message: string }).message).toMatch(/presence/);
  });

  it('a resume keeps a presence-watched topic: no leave, `resumed` carries a fresh snapshot, diffs keep coming', async () => {
    const watcher = await as('w7');
    await subscribe(watcher, 'room7');
    const headers = { authorization: `Bearer ${token('u7')}` };
    const session = await SessionClient.open(t.wsUrl, { headers });
    await subscribe(session.client, 'room7');
    await waitFor(() => diffs(watcher, 'room7').some((d) => d.joins.some((j) => j.userId === 'u7')), 'u7 joined');

    session.client.destroy();
    await sleep(GRACE_MS / 4);
    const resumed = (await session.resume(t.wsUrl, {}, { headers })) as { sessionId: string | null; topics: Record<string, ResumedTopic> };
    expect(resumed.sessionId).toBe(session.session.id);
    expect(resumed.topics.room7.presence?.count).toBe(2);
    expect(resumed.topics.room7.presence?.members.map((m) => m.userId).sort()).toEqual(['u7', 'w7']);
    const again = session.client;

    // Diffs reach the resumed connection: someone joins after the resume.
    const late = await as('l7');
    await subscribe(late, 'room7');
    await waitFor(() => diffs(again, 'room7').some((d) => d.joins.some((j) => j.userId === 'l7')), 'diff after the resume');
    await sleep(GRACE_MS + BATCH_MS + SLACK_MS);
    expect(diffs(watcher, 'room7').flatMap((d) => d.leaves)).toEqual([]);
    expect(offlineOf('u7')).toEqual([]);
    expect(((await t.get('/topics/room7/presence')).body as { count: number }).count).toBe(3);
    for (const c of [watcher, again, late]) c.socket.terminate();
  });
});

describe('presence (one node, anonymous connections)', () => {
  let t: TestApp;
  let presence: PresenceService;
  let online: PresenceOnlineEvent[];
  let offline: PresenceOfflineEvent[];

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        HEARTBEAT_INTERVAL_MS: '1000',
        HEARTBEAT_TIMEOUT_MS: '500',
        PRESENCE_GRACE_MS: String(GRACE_MS),
        PRESENCE_BATCH_MS: '100',
        ADMIN_TOKEN: ADMIN,
      },
    });
    presence = t.app.get(PresenceService);
    const events = t.app.get(EventEmitter2);
    online = collect(events, PresenceEvents.online);
    offline = collect(events, PresenceEvents.offline);
  });
  afterAll(() => t.close());

  it('the presence endpoints need the admin token like the rest of the operator API', async () => {
    expect((await t.get('/presence/users/alice')).status).toBe(401);
    expect((await t.get('/topics/anon/presence')).status).toBe(401);
    const query = (headers: Record<string, string>) =>
      fetch(`${t.baseUrl}/presence/users/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ userIds: ['alice'] }),
      });
    expect((await query({})).status).toBe(401);
    const ok = await query({ authorization: `Bearer ${ADMIN}` });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ online: [], offline: ['alice'] });
  });

  it('an anonymous connection is its own member, keyed by its client id', async () => {
    const [a, b] = [await t.join(), await t.join()];
    a.send('subscribe', { topic: 'anon', presence: true });
    await a.next('subscribed');
    b.send('subscribe', { topic: 'anon', presence: true });
    const reply = (await b.next('subscribed')).data as { presence: { members: PresenceMember[]; count: number } };
    expect(reply.presence.count).toBe(2);
    expect(reply.presence.members.map((m) => m.clientId).sort()).toEqual([a.id, b.id].sort());
    expect(reply.presence.members.every((m) => m.userId === null)).toBe(true);
    a.socket.terminate();
    b.socket.terminate();
  });

  it('an anonymous resume within the grace is the same member: no offline event, no leave, the new client id never shown', async () => {
    const watcher = await t.join();
    watcher.send('subscribe', { topic: 'anon-resume', presence: true });
    await watcher.next('subscribed');
    const session = await SessionClient.open(t.wsUrl);
    const first = session.client;
    first.send('subscribe', { topic: 'anon-resume', presence: true });
    await first.next('subscribed');
    await waitFor(() => diffs(watcher, 'anon-resume').some((d) => d.joins.some((j) => j.clientId === first.id)), 'joined');

    first.destroy();
    await sleep(GRACE_MS / 4);
    const resumed = (await session.resume(t.wsUrl, {})) as { sessionId: string | null; topics: Record<string, ResumedTopic> };
    const again = session.client;
    expect(resumed.sessionId).toBe(first.id);
    const members = resumed.topics['anon-resume'].presence?.members.map((m) => m.clientId);
    expect(members?.sort()).toEqual([first.id, watcher.id].sort());

    // A connection that does not resume joins as itself once its window ends (no frame needed).
    const idle = await t.join();
    await waitFor(() => online.some((e) => e.clientId === idle.id), 'a silent anonymous connection online', GRACE_MS + SLACK_MS + 2000);
    await sleep(GRACE_MS + 100 + SLACK_MS);
    const seen = diffs(watcher, 'anon-resume');
    expect(seen.flatMap((d) => d.leaves)).toEqual([]);
    expect(again.id).not.toBe(first.id);
    expect(seen.flatMap((d) => d.joins).map((j) => j.clientId)).not.toContain(again.id);
    expect(offline.filter((e) => e.clientId === first.id || e.clientId === again.id)).toEqual([]);
    expect(online.filter((e) => e.clientId === again.id)).toEqual([]);
    expect(presence.sizes.unsettled).toBe(0);
    for (const c of [watcher, again, idle]) c.socket.terminate();
  });

  it('a resume that is not the first frame moves the member: the session\'s joins (or stays), the connection\'s own id leaves at once', async () => {
    const watcher = await t.join();
    watcher.send('subscribe', { topic: 'anon-move', presence: true });
    await watcher.next('subscribed');
    const session = await SessionClient.open(t.wsUrl);
    const gone = session.client;
    gone.send('subscribe', { topic: 'anon-move', presence: true });
    await gone.next('subscribed');
    gone.destroy();
    // Joined as itself first (a presence subscribe), then resumes the other session.
    const late = await t.join();
    late.send('subscribe', { topic: 'anon-move', presence: true });
    await late.next('subscribed');
    late.send('resume', { token: session.session.token, topics: {} });
    const resumed = (await late.next('resumed')).data as { sessionId: string; topics: Record<string, ResumedTopic> };
    expect(resumed.sessionId).toBe(gone.id);
    expect(resumed.topics['anon-move'].presence?.members.map((m) => m.clientId).sort()).toEqual([gone.id, watcher.id].sort());
    await waitFor(() => diffs(watcher, 'anon-move').some((d) => d.leaves.some((l) => l.clientId === late.id)), 'own id left', 3000);
    await sleep(GRACE_MS + 100 + SLACK_MS);
    expect(diffs(watcher, 'anon-move').flatMap((d) => d.leaves).map((l) => l.clientId)).toEqual([late.id]);
    expect(offline.filter((e) => e.clientId === gone.id)).toEqual([]);
    expect(offline.filter((e) => e.clientId === late.id)).toEqual([expect.objectContaining({ reason: 'resumed' })]);
    for (const c of [watcher, late]) c.socket.terminate();
  });

  it('6. churn: 2,000 connect / subscribe with presence / abrupt close cycles leave no member, topic entry or timer', async () => {
    const cycles = 2000;
    let started = 0;
    const worker = async () => {
      while (started < cycles) {
        const n = started++;
        const client = await TestClient.join(t.wsUrl);
        client.send('subscribe', { topic: `churn-${n % 7}`, presence: true });
        await client.next('subscribed', 15_000);
        client.destroy();
        await client.closed;
      }
    };
    await Promise.all(Array.from({ length: 50 }, worker));
    await waitFor(() => t.registry.size === 0 && t.pipeline.pending === 0, 'all cycles cleaned up', 10_000);
    const store = presence.currentStore as MemoryPresenceStore;
    await waitFor(() => store.sizes.members === 0, 'every grace ended', GRACE_MS + 5000);
    expect(store.sizes).toEqual({ scopes: 0, members: 0, graces: 0 });
    await waitFor(() => !presence.sizes.flushScheduled, 'last batch flushed', 2000);
    expect(presence.sizes).toEqual({ connections: 0, unsettled: 0, watchedTopics: 0, replicas: 0, pendingTopics: 0, flushScheduled: false });
    expect(await t.metric('lifeline_presence_users')).toBe(0);
    expect(await t.metric('lifeline_presence_transitions_total', { to: 'offline' })).toBe(cycles + 8);
    expect(await t.metric('lifeline_cleanup_failures_total', { step: 'release' })).toBe(0);
    // One presence interval, whatever the churn.
    expect(t.heartbeatTimers().intervals.filter((n) => n.includes('presence'))).toEqual(['lifeline:presence']);
  }, 60_000);

  it('a failing presence step is contained and counted like any other; the client still goes', async () => {
    const store = presence.currentStore;
    const before = await t.metric('lifeline_cleanup_failures_total', { step: 'release' });
    const client = await t.join();
    // Joined (an anonymous connection joins at its first presence subscribe, or after its resume window).
    client.send('subscribe', { topic: 'failing', presence: true });
    await client.next('subscribed');
    const apply = store.apply.bind(store);
    const failing = jest.spyOn(store, 'apply').mockImplementation((ops) =>
      ops.some((op) => op.clientId === client.id && !op.add) ? Promise.reject(new Error('store down')) : apply(ops),
    );
    try {
      client.destroy();
      await waitFor(() => !t.registry.has(client.id) && t.pipeline.pending === 0, 'client cleaned up');
      expect(await t.metric('lifeline_cleanup_failures_total', { step: 'release' })).toBe(before + 1);
      expect(t.logs.entries('cleanup step failed')).toEqual(
        expect.arrayContaining([expect.objectContaining({ clientId: client.id, step: 'release:user-presence', error: 'Error: store down' })]),
      );
      expect(await t.metric('lifeline_disconnections_total', { reason: 'connection_lost' })).toBeGreaterThan(0);
    } finally {
      failing.mockRestore();
    }
  });
});
