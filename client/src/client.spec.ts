import { LifelineClient, type ClientState, type LifelineClientOptions, type MessageMeta, type ResyncEvent } from './client';
import type { LifelineError } from './errors';
import type { PresenceEvent } from './presence';
import { ScriptedServer } from './testing/scripted-server';
import { sleep, waitFor } from './testing/wait';

/** Everything a client reported, in order. */
function watch(client: LifelineClient) {
  const seen = { states: [] as ClientState[], errors: [] as LifelineError[], resyncs: [] as ResyncEvent[] };
  client.on('state', (s) => seen.states.push(s));
  client.on('error', (e) => seen.errors.push(e));
  client.on('resync', (r) => seen.resyncs.push(r));
  return seen;
}

function inbox(client: LifelineClient, topic: string) {
  const got: { data: unknown; meta: MessageMeta }[] = [];
  const sub = client.subscribe(topic, (data, meta) => got.push({ data, meta }));
  return { got, sub };
}

const fast = { intervalMs: 200, timeoutMs: 200 };
let server: ScriptedServer;
let clients: LifelineClient[] = [];
function connect(options: LifelineClientOptions = {}, url = server.url): LifelineClient {
  const client = new LifelineClient(url, { backoff: { baseMs: 50, capMs: 200 }, ...options });
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  await server?.stop();
});

describe('LifelineClient against a scripted server (real sockets)', () => {
  it('connecting → open; receives with meta; publish resolves with the acknowledged offset', async () => {
    server = await ScriptedServer.start();
    const client = connect();
    const seen = watch(client);
    expect(client.state).toBe('connecting');
    const { got } = inbox(client, 'news');
    await client.ready();
    expect(seen.states).toEqual(['open']);
    expect(client.clientId).toMatch(/^c-/);
    expect(server.conns[0].url).toContain('refusal=close');
    await waitFor(() => server.conns[0].session.topics.has('news'), 'subscribed');
    server.publish('news', 'first');
    await expect(client.publish('news', { n: 2 })).resolves.toEqual({ offset: 2 });
    await waitFor(() => got.length === 2, 'two messages');
    expect(got[0]).toEqual({ data: 'first', meta: { topic: 'news', offset: 1, epoch: expect.any(String), replayed: false } });
    expect(got[1].data).toEqual({ n: 2 });
  });

  it('notices a silent server within interval + timeout, reconnects, resumes: nothing lost, nothing twice', async () => {
    server = await ScriptedServer.start({ heartbeat: fast });
    const client = connect();
    const seen = watch(client);
    const { got } = inbox(client, 't');
    await client.ready();
    await waitFor(() => server.conns[0].session.topics.has('t'), 'subscribed');
    for (let i = 1; i <= 3; i++) server.publish('t', i);
    await waitFor(() => got.length === 3, 'three live messages');

    server.silent = true;
    const silentAt = Date.now();
    await waitFor(() => client.state === 'reconnecting', 'reconnecting', 3000);
    const detectedMs = Date.now() - silentAt;
    // The bound is interval + timeout after the last frame; the margin is for a loaded machine's timers.
    expect(detectedMs).toBeLessThanOrEqual(fast.intervalMs + fast.timeoutMs + 600);
    expect(seen.errors.map((e) => e.code)).toEqual(['heartbeat_timeout']);

    for (let i = 4; i <= 6; i++) server.publish('t', i); // missed while away
    server.replayDuplicate = true; // and the server replays one too many
    server.silent = false;
    await client.ready();
    await waitFor(() => got.length === 6, 'replayed messages');
    server.publish('t', 7);
    await waitFor(() => got.length === 7, 'live after resume');
    await sleep(50);
    expect(got.map((g) => g.data)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(got.map((g) => g.meta.offset)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(got.map((g) => g.meta.replayed)).toEqual([false, false, false, true, true, true, false]);
    const resume = server.conns.at(-1)!.received.find((f) => f.event === 'resume');
    expect(resume?.data).toEqual({ token: expect.any(String), topics: { t: { epoch: expect.any(String), offset: 3 } } });
    expect(seen.states).toEqual(['open', 'reconnecting', 'open']);
    expect(seen.resyncs).toEqual([]);
  });

  it('sends a ping only after a silence of one interval: a busy connection never pings', async () => {
    server = await ScriptedServer.start({ heartbeat: { intervalMs: 600, timeoutMs: 300 } });
    const client = connect();
    inbox(client, 't');
    await client.ready();
    const ticker = setInterval(() => server.publish('t', 'tick'), 50);
    await sleep(1300);
    clearInterval(ticker);
    expect(server.conns[0].received.filter((f) => f.event === 'ping')).toEqual([]);
    await sleep(800);
    expect(server.conns[0].received.filter((f) => f.event === 'ping').length).toBeGreaterThanOrEqual(1);
    expect(client.state).toBe('open');
  });

  it('a refused resume (session unknown) and a lost history each produce one resync per topic, with the reason', async () => {
    server = await ScriptedServer.start();
    const client = connect();
    const seen = watch(client);
    const a = inbox(client, 'a');
    inbox(client, 'b');
    await client.ready();
    await waitFor(() => server.conns[0].session.topics.size === 2, 'subscribed');
    server.publish('a', 1);
    await waitFor(() => a.got.length === 1, 'message');

    server.forgetSessions();
    server.dropAll();
    await waitFor(() => seen.states.length === 3, 'reconnected');
    expect(seen.resyncs).toEqual([
      { topic: 'a', reason: 'unknown_session' },
      { topic: 'b', reason: 'unknown_session' },
    ]);
    // Subscribed afresh on the new session.
    await waitFor(() => server.conns.at(-1)!.session.topics.size === 2, 'resubscribed');

    seen.resyncs.length = 0;
    server.resetHistory();
    server.dropAll();
    await waitFor(() => seen.states.length === 5, 'reconnected again');
    expect(seen.resyncs).toEqual([{ topic: 'a', reason: 'epoch_changed' }, { topic: 'b', reason: 'epoch_changed' }]);
    server.publish('a', 'after');
    await waitFor(() => a.got.length === 2, 'live after the resync');
    expect(a.got[1].meta).toMatchObject({ offset: 1, replayed: false });
  });

  it('publishes made while reconnecting are queued, re-sent after the resume, acknowledged once, published once', async () => {
    server = await ScriptedServer.start({ heartbeat: fast });
    const client = connect();
    const { got } = inbox(client, 'q');
    await client.ready();
    await waitFor(() => server.conns[0].session.topics.has('q'), 'subscribed');
    server.silent = true;
    await waitFor(() => client.state === 'reconnecting', 'reconnecting');
    const results = [1, 2, 3].map((n) => client.publish('q', n));
    expect(client.pendingPublishes).toBe(3);
    server.silent = false;
    expect(await Promise.all(results)).toEqual([{ offset: 1 }, { offset: 2 }, { offset: 3 }]);
    await waitFor(() => got.length === 3, 'own messages back');
    expect(got.map((g) => g.data)).toEqual([1, 2, 3]);
    expect(client.pendingPublishes).toBe(0);
  });

  it('close 1009: the oversized publish is rejected with payload_too_large; the others go through after the reconnect', async () => {
    server = await ScriptedServer.start({ maxPayload: 1024 });
    const client = connect();
    const seen = watch(client);
    await client.ready();
    const big = client.publish('t', 'x'.repeat(2000));
    const small = client.publish('t', 'small');
    await expect(big).rejects.toMatchObject({ code: 'payload_too_large', details: { closeCode: 1009 } });
    await expect(small).resolves.toEqual({ offset: 1 });
    expect(seen.states).toEqual(['open', 'reconnecting', 'open']);
  });

  it('a rate_limited error: unacknowledged publishes are re-sent after a pause, each published once', async () => {
    server = await ScriptedServer.start();
    const client = connect();
    const { got } = inbox(client, 'r');
    await client.ready();
    await waitFor(() => server.conns[0].session.topics.has('r'), 'subscribed');
    server.rateLimitNext = 2;
    const started = Date.now();
    const results = await Promise.all([1, 2, 3].map((n) => client.publish('r', n)));
    expect(Date.now() - started).toBeGreaterThanOrEqual(900); // the pause
    expect(results.map((r) => r.offset).sort()).toEqual([1, 2, 3]);
    await waitFor(() => got.length === 3, 'three messages');
    await sleep(50);
    expect(got.map((g) => g.data).sort()).toEqual([1, 2, 3]);
  });

  it('paces its frames under the send rate: a burst, then perSecond; all acknowledged in order', async () => {
    server = await ScriptedServer.start();
    const client = connect({ sendRate: { perSecond: 40, burst: 10 } });
    await client.ready();
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => client.publish('p', i)));
    const took = Date.now() - started;
    expect(results.map((r) => r.offset)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    // 5 at once (half the burst), then 20 at 36/s: about 550 ms.
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(2000);
  });

  it('forbidden topics (permissions): the publish rejects with forbidden, the subscription ends with an error, neither is retried', async () => {
    server = await ScriptedServer.start();
    server.forbidden.add('secret');
    const client = connect();
    const seen = watch(client);
    const sub = inbox(client, 'secret');
    inbox(client, 'open');
    await client.ready();
    await expect(client.publish('secret', 1)).rejects.toMatchObject({ code: 'forbidden', details: { topic: 'secret' } });
    await expect(client.publish('open', 1)).resolves.toEqual({ offset: 1 });
    await waitFor(() => seen.errors.length === 1, 'the subscribe refusal');
    expect(seen.errors[0]).toMatchObject({ code: 'forbidden', details: { topic: 'secret' } });
    server.dropAll();
    await waitFor(() => seen.states.length === 3, 'reconnected');
    await sleep(50);
    const subscribes = server.conns.at(-1)!.received.filter((f) => f.event === 'subscribe' || f.event === 'resume');
    expect(JSON.stringify(subscribes)).not.toContain('secret');
    expect(sub.got).toEqual([]);
  });

  it('rejects publishes beyond the queue bound with queue_full; close() rejects the rest with closed', async () => {
    server = await ScriptedServer.start();
    server.refuse = { code: 4503, reason: 'capacity; retry after 60 s' };
    const client = connect({ maxQueuedMessages: 2 });
    const p1 = client.publish('t', 1);
    const p2 = client.publish('t', 2);
    await expect(client.publish('t', 3)).rejects.toMatchObject({ code: 'queue_full' });
    await expect(client.publish('bad topic', 1)).rejects.toMatchObject({ code: 'invalid_argument' });
    client.close();
    await expect(p1).rejects.toMatchObject({ code: 'closed' });
    await expect(p2).rejects.toMatchObject({ code: 'closed' });
    await expect(client.publish('t', 4)).rejects.toMatchObject({ code: 'closed' });
    await expect(client.ready()).rejects.toMatchObject({ code: 'closed' });
  });

  it('4401 with a plain token: closed with unauthorized, no retry', async () => {
    server = await ScriptedServer.start();
    server.refuse = { code: 4401, reason: 'unauthorized; invalid token' };
    const client = connect({ token: 'bad' });
    const seen = watch(client);
    await expect(client.ready()).rejects.toMatchObject({ code: 'unauthorized' });
    expect(seen.states).toEqual(['closed']);
    expect(seen.errors.map((e) => e.code)).toEqual(['unauthorized']);
    await sleep(300);
    expect(server.attempts).toHaveLength(1);
    expect(server.attempts[0]).toContain('access_token=bad');
  });

  it('4401 with a token function: one more try with a fresh token, then closed', async () => {
    server = await ScriptedServer.start();
    server.refuse = { code: 4401, reason: 'unauthorized; jwt expired' };
    let n = 0;
    const client = connect({ token: () => Promise.resolve(`t${++n}`) });
    await expect(client.ready()).rejects.toMatchObject({ code: 'unauthorized' });
    await sleep(300);
    expect(server.attempts.map((u) => /access_token=(\w+)/.exec(u)?.[1])).toEqual(['t1', 't2']);
  });

  it('4001 token_expired: a token function gets a fresh token and the session resumes; a plain token closes', async () => {
    server = await ScriptedServer.start();
    let n = 0;
    const renewing = connect({ token: () => `jwt${++n}` });
    const seen = watch(renewing);
    inbox(renewing, 't');
    await renewing.ready();
    const sessionId = renewing.sessionId;
    server.closeAll(4001, 'token_expired');
    await waitFor(() => seen.states.length === 3, 'back open');
    expect(seen.states).toEqual(['open', 'reconnecting', 'open']);
    expect(server.attempts.at(-1)).toContain('access_token=jwt2');
    expect(server.conns.at(-1)!.received[0].event).toBe('resume');
    expect(renewing.sessionId).toBe(sessionId);
    expect(seen.errors).toEqual([]);

    const fixed = connect({ token: 'static' });
    await fixed.ready();
    const fixedSeen = watch(fixed);
    server.closeAll(4001, 'token_expired');
    await waitFor(() => fixed.state === 'closed', 'closed');
    expect(fixedSeen.errors.map((e) => e.code)).toContain('token_expired');
  });

  it('4503 with a retry hint: waits at least the hinted time, then connects', async () => {
    server = await ScriptedServer.start();
    server.refuse = { code: 4503, reason: 'capacity; retry after 0.4 s' };
    const client = connect();
    const seen = watch(client);
    await waitFor(() => server.attempts.length === 1, 'first attempt');
    const refusedAt = Date.now();
    server.refuse = undefined;
    await client.ready();
    expect(Date.now() - refusedAt).toBeGreaterThanOrEqual(380);
    expect(server.attempts).toHaveLength(2);
    expect(seen.errors[0]).toMatchObject({ code: 'unavailable', details: { closeCode: 4503, retryAfterMs: 400 } });
  });

  it('kicked (1008) and forbidden (4403) are terminal', async () => {
    server = await ScriptedServer.start();
    const kicked = connect();
    await kicked.ready();
    const states: ClientState[] = [];
    kicked.on('state', (s) => states.push(s));
    server.closeAll(1008, 'kicked');
    await waitFor(() => kicked.state === 'closed', 'kicked closes');
    server.refuse = { code: 4403, reason: 'forbidden_origin; origin not allowed' };
    const forbidden = connect();
    await expect(forbidden.ready()).rejects.toMatchObject({ code: 'forbidden', details: { closeCode: 4403 } });
    await sleep(200);
    expect(server.attempts).toHaveLength(2);
    expect(states).toEqual(['closed']);
  });

  it('4404: closed when the client never connected (a wrong URL), retried once it has been open (a deploy in progress)', async () => {
    server = await ScriptedServer.start();
    server.refuse = { code: 4404, reason: 'not_found; no WebSocket endpoint at /ws' };
    const wrong = connect();
    await expect(wrong.ready()).rejects.toMatchObject({ code: 'not_found' });
    server.refuse = undefined;
    const deployed = connect();
    await deployed.ready();
    server.refuse = { code: 4404, reason: 'not_found; no WebSocket endpoint at /ws' };
    server.dropAll();
    await waitFor(() => server.attempts.length >= 4, 'retried after a 4404');
    expect(deployed.state).toBe('reconnecting');
    server.refuse = undefined;
    await deployed.ready();
  });

  it('reconnects with the configured delays and a fixed reconnectDelay when given one', async () => {
    server = await ScriptedServer.start();
    const delays: number[] = [];
    const client = connect({ reconnectDelay: (attempt) => attempt * 10 });
    client.on('retry', (r) => delays.push(r.delayMs));
    await client.ready();
    server.refuse = { code: 1013, reason: 'try again later' };
    server.dropAll();
    await waitFor(() => delays.length >= 3, 'three retries');
    expect(delays.slice(0, 3)).toEqual([10, 20, 30]);
    server.refuse = undefined;
    await client.ready();
  });

  it('unsubscribe stops delivery and tells the server when the last handler of a topic goes', async () => {
    server = await ScriptedServer.start();
    const client = connect();
    const one = inbox(client, 't');
    const two = inbox(client, 't');
    await client.ready();
    await waitFor(() => server.conns[0].session.topics.has('t'), 'subscribed');
    one.sub.unsubscribe();
    server.publish('t', 'x');
    await waitFor(() => two.got.length === 1, 'second handler');
    expect(one.got).toEqual([]);
    two.sub.unsubscribe();
    two.sub.unsubscribe();
    await waitFor(() => !server.conns[0].session.topics.has('t'), 'unsubscribed on the server');
    expect(server.conns[0].received.filter((f) => f.event === 'unsubscribe')).toHaveLength(1);
  });

  it('against a server without sessions: works, publish resolves once written, reconnect re-subscribes with resync no_session', async () => {
    server = await ScriptedServer.start({ sessions: false });
    const client = connect();
    const seen = watch(client);
    const { got } = inbox(client, 't');
    await client.ready();
    await expect(client.publish('t', 1)).resolves.toEqual({ offset: undefined });
    await waitFor(() => got.length === 1, 'own message');
    server.dropAll();
    await waitFor(() => seen.states.length === 3, 'reconnected');
    expect(seen.resyncs).toEqual([{ topic: 't', reason: 'no_session' }]);
    await waitFor(() => server.conns.at(-1)!.session.topics.has('t'), 're-subscribed');
  });
});

describe('LifelineClient presence (scripted server)', () => {
  const alice = { userId: 'alice', since: 1 };
  const bob = { userId: 'bob', since: 2 };
  const anon = { userId: null, clientId: 's-9', since: 3 };

  function presenceEvents(client: LifelineClient) {
    const events: PresenceEvent[] = [];
    client.on('presence', (e) => events.push(e));
    return events;
  }

  it('subscribe with presence: the snapshot, then diffs (joins upsert, leaves delete), as presence() and events', async () => {
    server = await ScriptedServer.start();
    server.members.set('room', [alice]);
    const client = connect();
    const events = presenceEvents(client);
    client.subscribe('room', () => undefined, { presence: true });
    client.subscribe('plain', () => undefined);
    await client.ready();
    await waitFor(() => events.length === 1, 'snapshot');
    expect(server.conns[0].received.filter((f) => f.event === 'subscribe').map((f) => f.data)).toEqual([
      { topic: 'room', presence: true },
      { topic: 'plain' },
    ]);
    expect(events[0]).toEqual({ topic: 'room', members: [alice], joins: [alice], leaves: [], snapshot: true });
    expect(client.presence('room')).toEqual([alice]);
    expect(client.presence('plain')).toEqual([]);

    server.presenceDiff('room', [bob, anon, { ...alice, since: 5 }], []);
    await waitFor(() => events.length === 2, 'diff');
    expect(client.presence('room')).toEqual([{ ...alice, since: 5 }, bob, anon]);
    server.presenceDiff('room', [], [{ userId: 'bob' }, { userId: null, clientId: 's-9' }, { userId: 'nobody' }]);
    await waitFor(() => events.length === 3, 'leaves');
    expect(events[2]).toMatchObject({ snapshot: false, joins: [], members: [{ ...alice, since: 5 }] });
    expect(client.presence('room')).toEqual([{ ...alice, since: 5 }]);

    // A plain topic asking for presence later subscribes again with it; unsubscribing forgets the map.
    const sub = client.subscribe('plain', () => undefined, { presence: true });
    await waitFor(() => server.conns[0].received.filter((f) => f.event === 'subscribe').length === 3, 'subscribe again');
    expect(server.conns[0].received.at(-1)!.data).toEqual({ topic: 'plain', presence: true });
    sub.unsubscribe();
    const others = [...server.conns[0].received];
    expect(others.filter((f) => f.event === 'unsubscribe')).toEqual([]); // the first 'plain' handler is still there
  });

  it('a resume replaces the map with its snapshot (the change as joins and leaves); a reconnect without one subscribes with presence again', async () => {
    server = await ScriptedServer.start();
    server.members.set('room', [alice, bob]);
    const client = connect();
    const events = presenceEvents(client);
    client.subscribe('room', () => undefined, { presence: true });
    await client.ready();
    await waitFor(() => client.presence('room').length === 2, 'snapshot');

    // While away, bob left and the anonymous member joined: the resume's snapshot says so.
    server.members.set('room', [alice, anon]);
    server.dropAll();
    await waitFor(() => events.length === 2, 'resumed snapshot');
    expect(server.conns.at(-1)!.received.map((f) => f.event)).toEqual(['resume']);
    expect(events[1]).toEqual({ topic: 'room', members: [alice, anon], joins: [anon], leaves: [{ userId: 'bob' }], snapshot: true });
    expect(client.presence('room')).toEqual([alice, anon]);

    // Kept while the connection is down; replaced by the next snapshot.
    server.forgetSessions();
    server.members.set('room', [bob]);
    server.dropAll();
    await waitFor(() => events.length === 3, 'snapshot after a refused resume');
    expect(server.conns.at(-1)!.received.filter((f) => f.event === 'subscribe').map((f) => f.data)).toEqual([{ topic: 'room', presence: true }]);
    expect(client.presence('room')).toEqual([bob]);
  });
});

describe('LifelineClient leaves nothing behind', () => {
  const fakeWindow = new EventTarget();
  const fakeDocument = Object.assign(new EventTarget(), { visibilityState: 'visible' });
  const g = globalThis as unknown as Record<string, unknown>;
  let added = 0;
  let removed = 0;

  beforeAll(() => {
    g.addEventListener = (type: string, fn: () => void) => {
      added++;
      fakeWindow.addEventListener(type, fn);
    };
    g.removeEventListener = (type: string, fn: () => void) => {
      removed++;
      fakeWindow.removeEventListener(type, fn);
    };
    g.document = {
      get visibilityState() {
        return fakeDocument.visibilityState;
      },
      addEventListener: (type: string, fn: () => void) => {
        added++;
        fakeDocument.addEventListener(type, fn);
      },
      removeEventListener: (type: string, fn: () => void) => {
        removed++;
        fakeDocument.removeEventListener(type, fn);
      },
    };
  });

  afterAll(() => {
    delete g.addEventListener;
    delete g.removeEventListener;
    delete g.document;
  });

  const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

  it('online / visibilitychange / pageshow make an open client ping at once', async () => {
    server = await ScriptedServer.start({ heartbeat: { intervalMs: 60_000, timeoutMs: 10_000 } });
    const client = connect();
    await client.ready();
    const pings = () => server.conns[0].received.filter((f) => f.event === 'ping').length;
    fakeDocument.visibilityState = 'hidden';
    fakeDocument.dispatchEvent(new Event('visibilitychange'));
    await sleep(50);
    expect(pings()).toBe(0); // going hidden is no reason to check
    fakeDocument.visibilityState = 'visible';
    fakeWindow.dispatchEvent(new Event('online'));
    await waitFor(() => pings() === 1, 'ping on online');
    await sleep(30);
    fakeDocument.dispatchEvent(new Event('visibilitychange'));
    fakeWindow.dispatchEvent(new Event('pageshow'));
    await sleep(50);
    // One ping out at a time: the second check found the first ping answered and sent another.
    expect(pings()).toBeGreaterThanOrEqual(2);
  });

  it('online while waiting to reconnect: tries at once instead of waiting out the backoff', async () => {
    server = await ScriptedServer.start();
    const client = connect({ backoff: { baseMs: 60_000, capMs: 60_000 } });
    await client.ready();
    server.dropAll();
    await waitFor(() => client.state === 'reconnecting', 'reconnecting');
    const before = server.attempts.length;
    fakeWindow.dispatchEvent(new Event('online'));
    await client.ready();
    expect(server.attempts.length).toBe(before + 1);
  });

  it('after close(): no timer, socket or window/document listener of the client remains, in every state', async () => {
    // Process-wide counts: under `jest --runInBand` earlier suites' sockets may still be closing.
    const tcpSockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const socketsBefore = tcpSockets();
    server = await ScriptedServer.start({ heartbeat: fast });
    const baseline = timeouts();
    added = removed = 0;

    // open, with a heartbeat timer and a pending publish
    const open = new LifelineClient(server.url);
    inbox(open, 't');
    await open.ready();
    void open.publish('t', 1).catch(() => undefined);
    // reconnecting, with a backoff timer
    const waiting = new LifelineClient(server.url, { backoff: { baseMs: 60_000, capMs: 60_000 } });
    await waiting.ready();
    server.closeAll(1012, 'restart');
    await waitFor(() => waiting.state === 'reconnecting', 'waiting');
    // connecting, with a connect timer and a half-done handshake
    server.silent = true;
    const connecting = new LifelineClient(server.url);
    await sleep(50);
    expect(timeouts()).toBeGreaterThan(baseline);
    expect(added).toBe(15); // 5 per client

    for (const c of [open, waiting, connecting]) c.close();
    for (const c of [open, waiting, connecting]) expect(c.listenerCount()).toBe(0);
    expect(removed).toBe(added);
    await waitFor(() => timeouts() <= baseline, 'timers released', 2000);
    // The sockets' TCP handles are gone too (ws closes them once the close handshake ends).
    await server.stop();
    await waitFor(() => tcpSockets() <= socketsBefore, 'sockets released', 3000);
    expect([open.state, waiting.state, connecting.state]).toEqual(['closed', 'closed', 'closed']);
  });
});
