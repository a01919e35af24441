import { type CanActivate, type ExecutionContext, ForbiddenException, Injectable, UseGuards } from '@nestjs/common';
import { sign } from 'jsonwebtoken';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  LifelineGateway,
  TOKEN_EXPIRED_CLOSE_CODE,
  TOKEN_EXPIRY_TIMER_NAME,
  type TopicClient,
  type TopicPolicy,
} from '../src/lifeline';
import { startTestApp, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';
import { type Frame, TestClient } from './support/ws-client';

const SECRET = 'a-test-secret-that-is-at-least-32-chars';
const JWT_ENV = { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET };

function token(claims: Record<string, unknown>, expiresInS = 600): string {
  return sign({ exp: Math.floor(Date.now() / 1000) + expiresInS, ...claims }, SECRET);
}

async function joinAs(t: TestApp, claims: Record<string, unknown>, expiresInS?: number) {
  return TestClient.join(`${t.wsUrl}?access_token=${token(claims, expiresInS)}`);
}

/** Sends a ping and waits for its pong: every frame sent before it has been handled (frames are handled in order). */
async function roundTrip(client: TestClient, tag = 'rt'): Promise<void> {
  client.send('ping', tag);
  const pong = await client.next('pong');
  expect(pong.data).toBe(tag);
}

const forbidden = (event: 'subscribe' | 'publish', topic: string, message = `not allowed to ${event} to "${topic}"`) => ({
  event: 'error',
  data: { code: 'forbidden', message, event, topic },
});

/** The next received frame that is one of `events` (TestClient.next waits for one kind only). */
async function nextOf(client: TestClient, events: string[]): Promise<Frame> {
  let index = -1;
  await waitFor(() => (index = client.frames.findIndex((f) => events.includes(f.event))) >= 0, `one of ${events.join(', ')}`, 10_000, 5);
  return client.frames.splice(index, 1)[0];
}

async function subscribe(client: TestClient, topic: string): Promise<Frame> {
  client.send('subscribe', { topic });
  return nextOf(client, ['subscribed', 'error']);
}

/** Warnings about topic permissions (other start-up warnings, e.g. about ADMIN_TOKEN, are not ours). */
function topicWarnings(t: TestApp): unknown[] {
  return t.logs.lines
    .filter((l) => l.level === 'warn' && /TOPIC_POLICY/.test((l.message as { msg?: string }).msg ?? ''))
    .map((l) => l.message);
}

/** Takes the message frames received so far (they are not seen again). */
function messages(client: TestClient): unknown[] {
  const taken = client.frames.filter((f) => f.event === 'message');
  client.frames.splice(0, client.frames.length, ...client.frames.filter((f) => f.event !== 'message'));
  return taken.map((f) => f.data);
}

describe('topic permissions', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('the JWT "topics" claim allows and refuses subscribe and publish, exact and by prefix; refusals are counted', async () => {
    t = await startTestApp({ env: JWT_ENV });
    const claimed = await joinAs(t, { sub: 'alice', topics: { subscribe: ['news', 'chat:*'], publish: ['chat:*'] } });
    const open = await joinAs(t, { sub: 'bob' });

    expect(await subscribe(claimed, 'news')).toMatchObject({ event: 'subscribed', data: { topic: 'news' } });
    expect(await subscribe(claimed, 'chat:room-1')).toMatchObject({ event: 'subscribed', data: { topic: 'chat:room-1' } });
    expect(await subscribe(claimed, 'chat:')).toMatchObject({ event: 'subscribed', data: { topic: 'chat:' } });
    // A prefix pattern is a prefix: "chat:*" does not cover "chat" or "chatter".
    for (const topic of ['sports', 'chat', 'chatter', 'news:extra', 'newsroom']) {
      expect(await subscribe(claimed, topic)).toEqual(forbidden('subscribe', topic));
      expect(t.topics.subscriberCount(topic)).toBe(0);
    }

    // Publishing: chat:* yes, news (subscribe-only) no.
    expect(await subscribe(open, 'chat:room-1')).toMatchObject({ event: 'subscribed' });
    expect(await subscribe(open, 'news')).toMatchObject({ event: 'subscribed' });
    claimed.send('publish', { topic: 'chat:room-1', data: 'hello' });
    expect((await open.next('message')).data).toMatchObject({ topic: 'chat:room-1', data: 'hello' });
    claimed.send('publish', { topic: 'news', data: 'fake news' });
    expect(await claimed.next('error')).toEqual(forbidden('publish', 'news'));
    await roundTrip(open);
    await roundTrip(claimed);
    expect(messages(open)).toEqual([]);
    expect(messages(claimed)).toMatchObject([{ topic: 'chat:room-1', data: 'hello' }]); // its own, subscribed

    // Without a claim and with TOPIC_POLICY=open (default): anything.
    open.send('publish', { topic: 'news', data: 'real news' });
    expect((await claimed.next('message')).data).toMatchObject({ topic: 'news', data: 'real news' });

    // A malformed body is still bad_request, not forbidden.
    claimed.send('subscribe', { topic: 'has space' });
    expect(await claimed.next('error')).toMatchObject({ data: { code: 'bad_request', event: 'subscribe' } });

    expect(await t.metric('lifeline_topic_refusals_total', { action: 'subscribe' })).toBe(5);
    expect(await t.metric('lifeline_topic_refusals_total', { action: 'publish' })).toBe(1);
    expect(t.registry.size).toBe(2);
    expect(claimed.closeCode).toBeUndefined();
  });

  it('a claim is the whole truth: a missing list allows nothing, "*" allows everything; a malformed claim gets 401', async () => {
    t = await startTestApp({ env: JWT_ENV });
    const readOnly = await joinAs(t, { sub: 'r', topics: { subscribe: ['*'] } });
    expect(await subscribe(readOnly, 'anything')).toMatchObject({ event: 'subscribed' });
    readOnly.send('publish', { topic: 'anything', data: 1 });
    expect(await readOnly.next('error')).toEqual(forbidden('publish', 'anything'));
    const nothing = await joinAs(t, { sub: 'n', topics: {} });
    expect(await subscribe(nothing, 'anything')).toEqual(forbidden('subscribe', 'anything'));

    for (const [topics, message] of [
      ['news', 'invalid "topics" claim: must be an object {"subscribe": [...], "publish": [...]}'],
      [{ subscribe: 'news' }, 'invalid "topics" claim: subscribe must be an array of topic patterns'],
      [{ subscribe: ['a*b'] }, 'invalid "topics" claim: subscribe[0] "a*b" may have "*" only at the end'],
      [{ publsh: ['x'] }, 'invalid "topics" claim: unknown key "publsh" (expected "subscribe" and/or "publish")'],
    ] as const) {
      expect(await TestClient.refusal(`${t.wsUrl}?access_token=${token({ sub: 'x', topics })}`)).toEqual({
        status: 401,
        headers: expect.anything(),
        body: { statusCode: 401, message },
      });
    }
    expect(t.registry.size).toBe(2);
  });

  it('TOPIC_POLICY=closed refuses what no claim allows; claims still allow; operator publishes are not subject to it', async () => {
    t = await startTestApp({ env: { ...JWT_ENV, TOPIC_POLICY: 'closed' } });
    expect(topicWarnings(t)).toEqual([]);
    const plain = await joinAs(t, { sub: 'plain' });
    const claimed = await joinAs(t, { sub: 'claimed', topics: { subscribe: ['alerts'], publish: ['alerts'] } });

    expect(await subscribe(plain, 'alerts')).toEqual(forbidden('subscribe', 'alerts'));
    plain.send('publish', { topic: 'alerts', data: 'x' });
    expect(await plain.next('error')).toEqual(forbidden('publish', 'alerts'));

    expect(await subscribe(claimed, 'alerts')).toMatchObject({ event: 'subscribed' });
    claimed.send('publish', { topic: 'alerts', data: 'from a client' });
    expect((await claimed.next('message')).data).toMatchObject({ topic: 'alerts', data: 'from a client' });

    const res = await fetch(`${t.baseUrl}/topics/alerts/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ from: 'operator' }),
    });
    expect(res.status).toBe(202);
    expect((await claimed.next('message')).data).toMatchObject({ topic: 'alerts', data: { from: 'operator' } });
    expect(await t.metric('lifeline_topic_refusals_total', { action: 'subscribe' })).toBe(1);
    expect(await t.metric('lifeline_topic_refusals_total', { action: 'publish' })).toBe(1);
  });

  it('without auth, TOPIC_POLICY=closed refuses everything; open (the default) allows everything and warns only with auth on', async () => {
    t = await startTestApp({ env: { TOPIC_POLICY: 'closed' } });
    const client = await t.join();
    expect(await subscribe(client, 'news')).toEqual(forbidden('subscribe', 'news'));
    await t.close();

    t = await startTestApp();
    expect(topicWarnings(t)).toEqual([]);
    expect(await subscribe(await t.join(), 'news')).toMatchObject({ event: 'subscribed' });
    await t.close();

    t = await startTestApp({ env: JWT_ENV });
    expect(topicWarnings(t)).toEqual([expect.objectContaining({ authMode: 'jwt', msg: expect.stringMatching(/TOPIC_POLICY is open while AUTH_MODE is on/) })]);
  });
});

describe('a TopicPolicy provider', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('an async policy that refuses after a delay holds only its own client; the others keep being served meanwhile', async () => {
    const asked: string[] = [];
    const policy: TopicPolicy = {
      async canSubscribe(client: TopicClient, topic: string) {
        asked.push(`${client.userId}:${topic}`);
        if (client.userId !== 'slow') return undefined; // the default decides
        await sleep(600);
        return false;
      },
    };
    t = await startTestApp({ env: JWT_ENV, topicPolicy: policy });
    const slow = await joinAs(t, { sub: 'slow' });
    const others = await Promise.all([joinAs(t, { sub: 'a' }), joinAs(t, { sub: 'b' })]);
    // Claims are the whole truth: the policy is not asked for this one.
    const claimed = await joinAs(t, { sub: 'slow', topics: { subscribe: ['room'] } });

    const started = Date.now();
    slow.send('subscribe', { topic: 'room' });
    const refusal = slow.next('error');
    // While the slow decision is pending, others subscribe, publish and receive.
    for (const other of others) expect(await subscribe(other, 'room')).toMatchObject({ event: 'subscribed' });
    expect(await subscribe(claimed, 'room')).toMatchObject({ event: 'subscribed' });
    others[0].send('publish', { topic: 'room', data: 'hi' });
    expect((await others[1].next('message')).data).toMatchObject({ topic: 'room', data: 'hi' });
    const servedWithin = Date.now() - started;
    expect(servedWithin).toBeLessThan(500);

    expect(await refusal).toEqual(forbidden('subscribe', 'room'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(t.topics.subscriberCount('room')).toBe(3); // a, b, claimed; not slow
    expect(messages(slow)).toEqual([]);
    expect(asked.sort()).toEqual(['a:room', 'b:room', 'slow:room']);
    expect(await t.metric('lifeline_topic_refusals_total', { action: 'subscribe' })).toBe(1);
  });

  it("a client's frames are handled in order while a check is pending: subscribe then publish, subscribe then unsubscribe", async () => {
    const policy: TopicPolicy = {
      async canSubscribe() {
        await sleep(300);
        return true;
      },
      canPublish: () => true,
    };
    t = await startTestApp({ env: { MAX_PAYLOAD_BYTES: '1024' }, topicPolicy: policy });
    const client = await t.join();
    client.send('subscribe', { topic: 'mine' });
    client.send('publish', { topic: 'mine', data: 'echo' });
    client.send('subscribe', { topic: 'gone' });
    client.send('unsubscribe', { topic: 'gone' });
    client.send('ping', 'last');
    await client.next('pong');
    expect(client.frames.map((f) => f.event)).toEqual(['subscribed', 'message', 'subscribed', 'unsubscribed']);
    expect(client.frames[1].data).toMatchObject({ topic: 'mine', data: 'echo', offset: 1 });
    expect(t.topics.subscriberCount('mine')).toBe(1);
    expect(t.topics.subscriberCount('gone')).toBe(0);

    // What waits is bounded (here by bytes: 4 x MAX_PAYLOAD_BYTES); beyond it a frame is refused at once.
    client.frames.length = 0;
    client.send('subscribe', { topic: 'slow' });
    for (let i = 0; i < 20; i++) client.send('ping', `${i}:${'x'.repeat(500)}`);
    await waitFor(() => client.frames.length === 21, '21 answers');
    const pongs = client.frames.filter((f) => f.event === 'pong').map((f) => Number(String(f.data).split(':')[0]));
    const refused = client.frames.filter((f) => f.event === 'error');
    expect(pongs.length).toBeGreaterThanOrEqual(5);
    expect(refused.length).toBe(20 - pongs.length);
    expect(refused[0].data).toEqual({ code: 'rate_limited', message: 'too many messages waiting for an earlier one; slow down' });
    expect(pongs).toEqual([...Array(pongs.length).keys()]); // the first ones, in order
    // Refusals are answered at once; the rest in order.
    expect(client.frames.find((f) => f.event !== 'error')).toMatchObject({ event: 'subscribed', data: { topic: 'slow' } });
    expect(await t.metric('lifeline_rate_limited_messages_total')).toBe(refused.length);
  });

  it('a policy that throws, rejects, answers nonsense or hangs refuses; it is logged and contained', async () => {
    const policy: TopicPolicy = {
      canSubscribe(_client: TopicClient, topic: string) {
        if (topic === 'throws') throw new Error('database down');
        if (topic === 'rejects') return Promise.reject(new Error('connection reset'));
        if (topic === 'nonsense') return 'yes' as unknown as boolean;
        if (topic === 'hangs') return new Promise<boolean>(() => undefined);
        return true;
      },
    };
    t = await startTestApp({ env: { TOPIC_POLICY_TIMEOUT_MS: '300' }, topicPolicy: policy });
    const client = await t.join();
    const bystander = await t.join();
    for (const topic of ['throws', 'rejects', 'nonsense', 'hangs']) {
      expect(await subscribe(client, topic)).toEqual(forbidden('subscribe', topic));
      expect(await subscribe(bystander, 'fine')).toMatchObject({ event: 'subscribed' });
    }
    expect(await subscribe(client, 'fine')).toMatchObject({ event: 'subscribed' });
    const failures = t.logs.lines
      .filter((l) => (l.level === 'error' || l.level === 'warn') && /topic policy/.test((l.message as { msg?: string }).msg ?? ''))
      .map((l) => l.message as { msg: string; topic: string; error?: string });
    expect(failures).toEqual([
      expect.objectContaining({ msg: 'topic policy failed; refused', topic: 'throws', error: 'Error: database down' }),
      expect.objectContaining({ msg: 'topic policy failed; refused', topic: 'rejects', error: 'Error: connection reset' }),
      expect.objectContaining({ msg: 'topic policy failed; refused', topic: 'nonsense' }),
      expect.objectContaining({ msg: 'topic policy did not answer in time; refused', topic: 'hangs' }),
    ]);
    expect(await t.metric('lifeline_topic_refusals_total', { action: 'subscribe' })).toBe(4);
    expect(t.registry.size).toBe(2);
  });

  it('an app guard on the gateway sees the same decision point; its refusal is the same forbidden frame', async () => {
    const seen: unknown[] = [];
    @Injectable()
    class NoAdminTopics implements CanActivate {
      canActivate(context: ExecutionContext): boolean {
        const ws = context.switchToWs();
        seen.push([ws.getPattern(), ws.getData()]);
        const topic = (ws.getData<{ topic?: unknown }>() ?? {}).topic;
        if (topic === 'vip') throw new ForbiddenException('members only');
        return !(typeof topic === 'string' && topic.startsWith('admin:'));
      }
    }
    @UseGuards(NoAdminTopics)
    class GuardedGateway extends LifelineGateway {}

    const policy: TopicPolicy = { canPublish: () => false };
    t = await startTestApp({ gateway: GuardedGateway, topicPolicy: policy });
    const client = await t.join();
    expect(await subscribe(client, 'admin:keys')).toEqual(forbidden('subscribe', 'admin:keys'));
    expect(await subscribe(client, 'vip')).toEqual(forbidden('subscribe', 'vip', 'members only'));
    expect(await subscribe(client, 'lobby')).toMatchObject({ event: 'subscribed' });
    client.send('publish', { topic: 'lobby', data: 1 });
    expect(await client.next('error')).toEqual(forbidden('publish', 'lobby'));
    expect(seen).toContainEqual(['subscribe', { topic: 'admin:keys' }]);
    expect(seen).toContainEqual(['publish', { topic: 'lobby', data: 1 }]);
    expect(t.topics.subscriberCount('admin:keys') + t.topics.subscriberCount('vip')).toBe(0);
    expect(await t.metric('lifeline_topic_refusals_total', { action: 'subscribe' })).toBe(2);
    expect(await t.metric('lifeline_topic_refusals_total', { action: 'publish' })).toBe(1);
  });
});

describe('resume re-checks the subscribe permission', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('a restored subscription the new token no longer allows is refused (forbidden frame, counted) and not restored', async () => {
    t = await startTestApp({ env: { ...JWT_ENV, TOPIC_POLICY: 'closed' } });
    const first = await TestClient.connect(`${t.wsUrl}?access_token=${token({ sub: 'u1', topics: { subscribe: ['a', 'b'] } })}`);
    const { session } = (await first.next('welcome')).data as { session: { token: string } };
    for (const topic of ['a', 'b']) expect(await subscribe(first, topic)).toMatchObject({ event: 'subscribed' });
    first.destroy(); // gone without a close frame; the session waits for a resume
    await waitFor(() => t.registry.size === 0, 'first connection cleaned up');

    // The same user comes back with a token that no longer covers "b".
    const again = await joinAs(t, { sub: 'u1', topics: { subscribe: ['a'] } });
    again.send('resume', { token: session.token });
    const resumed = await again.next('resumed');
    expect(resumed.data).toMatchObject({ topics: { a: expect.anything() } });
    expect(Object.keys((resumed.data as { topics: object }).topics)).toEqual(['a']);
    expect(await again.next('error')).toEqual(forbidden('subscribe', 'b'));
    expect(t.topics.subscriberCount('a')).toBe(1);
    expect(t.topics.subscriberCount('b')).toBe(0);
    expect(await t.metric('lifeline_topic_refusals_total', { action: 'subscribe' })).toBe(1);
    expect(await t.metric('lifeline_resumes_total', { result: 'partial' })).toBe(1);
  });
});

describe('JWT expiry on an open connection', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('closes the connection with 4001 token_expired when exp passes; one timer serves every client', async () => {
    t = await startTestApp({ env: JWT_ENV });
    const soon = await joinAs(t, { sub: 'soon' }, 2);
    const later = await joinAs(t, { sub: 'later' }, 3600);
    const alsoSoon = await joinAs(t, { sub: 'also-soon' }, 2);
    expect(t.heartbeatTimers().timeouts.filter((name) => name === TOKEN_EXPIRY_TIMER_NAME)).toHaveLength(1);

    const codes = await Promise.all([soon.closed, alsoSoon.closed]);
    expect(codes).toEqual([TOKEN_EXPIRED_CLOSE_CODE, TOKEN_EXPIRED_CLOSE_CODE]);
    expect(soon.closeReason).toBe('token_expired');
    await waitFor(() => t.registry.size === 1, 'expired clients removed');
    expect(await t.metric('lifeline_disconnections_total', { reason: 'token_expired' })).toBe(2);
    await roundTrip(later);
    expect(later.closeCode).toBeUndefined();
    // Still armed, for the remaining client.
    expect(t.heartbeatTimers().timeouts).toContain(TOKEN_EXPIRY_TIMER_NAME);
  });
});
