import { type CanActivate, type ExecutionContext, Injectable, UseGuards } from '@nestjs/common';
import { sign } from 'jsonwebtoken';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionAttempt, LifelineGateway } from '../src/lifeline';
import { startTestApp, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';
import { TestClient } from './support/ws-client';

const TOKENS = ['token-alpha-0123456789', 'token-beta-9876543210'];
const SECRET = 'a-test-secret-that-is-at-least-32-chars';

/** Errors and anything that might contain a credential, from the captured log. */
function leaks(t: TestApp, secrets: string[]): string[] {
  return t.logs.lines.map((l) => JSON.stringify(l.message)).filter((text) => secrets.some((s) => text.includes(s)));
}

describe('authentication and origin, before the upgrade', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('token mode: refuses a missing or wrong token with 401, accepts the header or the access_token parameter', async () => {
    t = await startTestApp({ env: { AUTH_MODE: 'token', AUTH_TOKENS: TOKENS.join(',') } });
    expect(await TestClient.refusal(t.wsUrl)).toMatchObject({
      status: 401,
      body: { statusCode: 401, message: 'missing bearer token' },
    });
    expect(
      await TestClient.refusal(t.wsUrl, { headers: { Authorization: 'Bearer not-a-valid-token' } }),
    ).toMatchObject({ status: 401, body: { message: 'invalid token' } });
    expect(await TestClient.refusal(`${t.wsUrl}?access_token=nope`)).toMatchObject({ status: 401 });
    expect(t.registry.size).toBe(0);

    const byHeader = await t.join({ headers: { Authorization: `Bearer ${TOKENS[1]}` } });
    const byQuery = await TestClient.join(`${t.wsUrl}?access_token=${TOKENS[0]}`);
    expect(t.registry.size).toBe(2);
    expect(t.registry.has(byHeader.id) && t.registry.has(byQuery.id)).toBe(true);
    byQuery.socket.terminate();

    expect(await t.metric('lifeline_rejections_total', { reason: 'unauthorized' })).toBe(3);
    expect(t.logs.lines.filter((l) => l.level === 'error')).toEqual([]);
    expect(leaks(t, [...TOKENS, 'not-a-valid-token'])).toEqual([]);
  });

  it('jwt mode: sub becomes the userId; expired, wrongly signed or wrong-audience tokens get 401', async () => {
    t = await startTestApp({
      env: { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_JWT_AUDIENCE: 'lifeline', AUTH_JWT_ISSUER: 'tests' },
    });
    const good = sign({ sub: 'user-42' }, SECRET, { audience: 'lifeline', issuer: 'tests', expiresIn: 60 });
    const client = await t.join({ headers: { Authorization: `Bearer ${good}` } });
    expect(t.registry.get(client.id)?.userId).toBe('user-42');

    const expired = sign({ sub: 'u', exp: Math.floor(Date.now() / 1000) - 10 }, SECRET, { audience: 'lifeline', issuer: 'tests' });
    const forged = sign({ sub: 'u' }, 'another-secret-that-is-also-32-chars-long', { audience: 'lifeline', issuer: 'tests' });
    const otherAudience = sign({ sub: 'u' }, SECRET, { audience: 'someone-else', issuer: 'tests' });
    for (const [token, message] of [
      [expired, 'jwt expired'],
      [forged, 'invalid signature'],
      [otherAudience, /jwt audience invalid/],
    ] as const) {
      const refusal = await TestClient.refusal(`${t.wsUrl}?access_token=${token}`);
      expect(refusal.status).toBe(401);
      expect((refusal.body as { message: string }).message).toMatch(message);
    }
    expect(t.registry.size).toBe(1);
    expect(await t.metric('lifeline_rejections_total', { reason: 'unauthorized' })).toBe(3);
    expect(leaks(t, [good, expired, forged, otherAudience, SECRET])).toEqual([]);
  });

  it('refuses an Origin outside ALLOWED_ORIGINS with 403', async () => {
    t = await startTestApp({ env: { ALLOWED_ORIGINS: 'https://app.example,https://admin.example' } });
    expect(await TestClient.refusal(t.wsUrl, { origin: 'https://evil.example' })).toMatchObject({
      status: 403,
      body: { message: 'origin not allowed' },
    });
    await t.join({ origin: 'https://admin.example' });
    await t.join(); // no Origin at all (a native app, a server): not a browser, origin not checked
    expect(t.registry.size).toBe(2);
    expect(await t.metric('lifeline_rejections_total', { reason: 'forbidden_origin' })).toBe(1);
  });
});

/** An extension's connection guard, put on the gateway with @UseGuards. */
@Injectable()
class NoBotsGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const attempt: unknown = context.switchToWs().getData();
    return attempt instanceof ConnectionAttempt && attempt.request.headers['user-agent'] !== 'bot';
  }
}

@UseGuards(NoBotsGuard)
class GuardedGateway extends LifelineGateway {}

describe('connection guards (@UseGuards on the gateway)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ gateway: GuardedGateway });
  });
  afterEach(() => t.close());

  it('a guard that returns false refuses the upgrade with 403; others connect; cleanup is not guarded', async () => {
    expect(await TestClient.refusal(t.wsUrl, { headers: { 'user-agent': 'bot' } })).toMatchObject({
      status: 403,
      body: { statusCode: 403 },
    });
    const human = await t.join({ headers: { 'user-agent': 'human' } });
    expect(t.registry.size).toBe(1);
    await human.close();
    await waitFor(() => t.registry.size === 0 && t.pipeline.pending === 0, 'human cleaned up');
    expect(await t.metric('lifeline_rejections_total', { reason: 'forbidden' })).toBe(1);
    expect(await t.metric('lifeline_disconnections_total', { reason: 'client_close' })).toBe(1);
  });
});

describe('limits', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('MAX_CLIENTS: the next upgrade gets 503 with Retry-After; a freed slot can be taken again', async () => {
    t = await startTestApp({ env: { MAX_CLIENTS: '2' } });
    const [a] = await Promise.all([t.join(), t.join()]);
    const refusal = await TestClient.refusal(t.wsUrl);
    expect(refusal).toMatchObject({ status: 503, body: { message: 'server at capacity (2 clients)' } });
    expect(refusal.headers['retry-after']).toBe('5');
    expect(t.registry.size).toBe(2);
    await a.close();
    await waitFor(() => t.registry.size === 1, 'slot freed');
    await t.join();
    expect(await t.metric('lifeline_rejections_total', { reason: 'capacity' })).toBe(1);
    expect((await t.get('/health')).status).toBe(200);
  });

  it('MAX_PAYLOAD_BYTES: a larger frame closes with 1009, counted as payload_too_large', async () => {
    t = await startTestApp({ env: { MAX_PAYLOAD_BYTES: '1024' } });
    const client = await t.join();
    const bystander = await t.join();
    client.send('ping', 'x'.repeat(2000));
    expect(await client.closed).toBe(1009);
    await waitFor(() => !t.registry.has(client.id) && t.pipeline.pending === 0, 'client removed');
    expect(await t.metric('lifeline_disconnections_total', { reason: 'payload_too_large' })).toBe(1);
    expect(t.registry.size).toBe(1);
    bystander.send('ping', 'fine');
    expect((await bystander.next('pong')).data).toBe('fine');
    expect(t.logs.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('invalid UTF-8 closes with 1007; a binary frame closes with 1003', async () => {
    t = await startTestApp();
    const garbled = await t.join();
    garbled.socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect(await garbled.closed).toBe(1007);
    const binary = await t.join();
    binary.socket.send(Buffer.from('{"event":"ping","data":1}'), { binary: true });
    expect(await binary.closed).toBe(1003);
    await waitFor(() => t.registry.size === 0 && t.pipeline.pending === 0, 'both removed');
    expect(await t.metric('lifeline_disconnections_total', { reason: 'invalid_utf8' })).toBe(1);
    expect(await t.metric('lifeline_disconnections_total', { reason: 'unsupported_data' })).toBe(1);
    expect(t.logs.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('ALLOW_BINARY=true: a binary frame holding JSON is handled like text', async () => {
    t = await startTestApp({ env: { ALLOW_BINARY: 'true' } });
    const client = await t.join();
    client.socket.send(Buffer.from('{"event":"ping","data":"bin"}'), { binary: true });
    expect((await client.next('pong')).data).toBe('bin');
  });

  it('rate limit: excess messages get rate_limited error frames; a client that keeps flooding is closed 1008', async () => {
    t = await startTestApp({ env: { RATE_LIMIT_PER_SEC: '1', RATE_LIMIT_BURST: '5' } });
    const client = await t.join();
    for (let i = 0; i < 8; i++) client.send('ping', i);
    for (let i = 0; i < 5; i++) expect((await client.next('pong')).data).toBe(i);
    for (let i = 0; i < 3; i++) {
      expect((await client.next('error')).data).toEqual({ code: 'rate_limited', message: 'too many messages; slow down' });
    }
    expect(t.registry.has(client.id)).toBe(true);

    for (let i = 0; i < 10; i++) client.send('ping', i);
    expect(await client.closed).toBe(1008);
    expect(client.closeReason).toBe('rate_limited');
    await waitFor(() => !t.registry.has(client.id) && t.pipeline.pending === 0, 'flooder removed');
    expect(await t.metric('lifeline_disconnections_total', { reason: 'rate_limited' })).toBe(1);
    // 3 refused in the first burst, then refusals 4, 5 and 6 in a row: the sixth is one more than the burst.
    expect(await t.metric('lifeline_rate_limited_messages_total')).toBeGreaterThanOrEqual(6);
  });

  it('slow consumer: a subscriber that stops reading is terminated once its buffer stays full past the grace period', async () => {
    t = await startTestApp({
      env: {
        SLOW_CONSUMER_MAX_BUFFERED_BYTES: '65536',
        SLOW_CONSUMER_GRACE_MS: '300',
        // A paused client also stops answering pings; keep the heartbeat out of this.
        HEARTBEAT_INTERVAL_MS: '10000',
        HEARTBEAT_TIMEOUT_MS: '5000',
      },
    });
    const slow = await t.join();
    const reader = await t.join();
    for (const c of [slow, reader]) {
      c.send('subscribe', { topic: 'busy' });
      await c.next('subscribed');
    }
    (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const chunk = 'y'.repeat(32 * 1024);
    let published = 0;
    // Bounded: at most 2,000 messages (64 MiB) or until the slow client is gone.
    while (t.registry.has(slow.id) && published < 2000) {
      void t.topics.publish('busy', chunk);
      published++;
      if (published % 20 === 0) await sleep(5);
    }
    expect(t.registry.has(slow.id)).toBe(false);
    await waitFor(() => t.pipeline.pending === 0, 'cleanup done');
    expect(await t.metric('lifeline_disconnections_total', { reason: 'slow_consumer' })).toBe(1);
    expect(t.topics.subscriberCount('busy')).toBe(1);
    expect(t.registry.has(reader.id)).toBe(true);
    expect(t.logs.entries('slow consumer terminated')).toEqual([expect.objectContaining({ clientId: slow.id })]);
  });

  it('handshake timeout: a TCP connection that never completes the upgrade is dropped; upgraded clients are not', async () => {
    t = await startTestApp({ env: { HANDSHAKE_TIMEOUT_MS: '300' } });
    const client = await t.join();
    const { createConnection } = await import('node:net');
    const url = new URL(t.baseUrl);
    const raw = createConnection({ host: url.hostname, port: Number(url.port) });
    raw.write('GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n'); // never finished
    const openedAt = Date.now();
    await new Promise<void>((resolve) => raw.on('close', () => resolve()));
    const heldMs = Date.now() - openedAt;
    expect(heldMs).toBeGreaterThanOrEqual(250);
    expect(heldMs).toBeLessThan(3000);
    await sleep(400);
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    expect(t.registry.has(client.id)).toBe(true);
    expect(t.registry.size).toBe(1);
    expect(await t.metric('lifeline_rejections_total', { reason: 'handshake_timeout' })).toBe(1);
  });
});
