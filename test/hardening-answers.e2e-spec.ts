import { startTestApp, type TestApp } from './support/test-app';
import { TestClient } from './support/ws-client';

const TOKEN = 'answers-token-0123456789';
const ORIGINS = 'https://app.example';

/** Issue 9, items 9-12: clear answers, right defaults. */
describe('origin and authentication (issue 9, item 9)', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('ALLOWED_ORIGINS: a request without Origin goes on to authentication; with one it must be allowed', async () => {
    t = await startTestApp({ env: { ALLOWED_ORIGINS: ORIGINS, AUTH_MODE: 'token', AUTH_TOKENS: TOKEN } });
    const auth = { Authorization: `Bearer ${TOKEN}` };
    // A native client: no Origin, good token → admitted.
    await t.join({ headers: auth });
    // No Origin, no token → 401 (authentication decides, not the origin check).
    expect(await TestClient.refusal(t.wsUrl)).toMatchObject({ status: 401, body: { message: 'missing bearer token' } });
    // A cross-site page: bad origin, good token → 403.
    expect(await TestClient.refusal(t.wsUrl, { origin: 'https://evil.example', headers: auth })).toMatchObject({
      status: 403,
      body: { message: 'origin not allowed' },
    });
    // Bad origin AND bad token → 401: a missing or bad token is 401 whatever else is wrong.
    expect(await TestClient.refusal(t.wsUrl, { origin: 'https://evil.example', headers: { Authorization: 'Bearer wrong' } })).toMatchObject({
      status: 401,
      body: { message: 'invalid token' },
    });
    await t.join({ origin: 'https://app.example', headers: auth });
    expect(t.registry.size).toBe(2);
    expect(await t.metric('lifeline_rejections_total', { reason: 'unauthorized' })).toBe(2);
    expect(await t.metric('lifeline_rejections_total', { reason: 'forbidden_origin' })).toBe(1);
  });

  it('REQUIRE_ORIGIN=true: a request without Origin is refused 403', async () => {
    t = await startTestApp({ env: { ALLOWED_ORIGINS: ORIGINS, REQUIRE_ORIGIN: 'true' } });
    expect(await TestClient.refusal(t.wsUrl)).toMatchObject({ status: 403, body: { message: 'an Origin header is required' } });
    await t.join({ origin: 'https://app.example' });
    expect(t.registry.size).toBe(1);
  });

  it('a bad token is 401 even at capacity', async () => {
    t = await startTestApp({ env: { MAX_CLIENTS: '1', AUTH_MODE: 'token', AUTH_TOKENS: TOKEN } });
    await t.join({ headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(await TestClient.refusal(t.wsUrl)).toMatchObject({ status: 401 });
    expect(await TestClient.refusal(t.wsUrl, { headers: { Authorization: `Bearer ${TOKEN}` } })).toMatchObject({ status: 503 });
  });
});

/** Writes raw bytes on the client's TCP socket, under ws's framing. */
function writeRaw(client: TestClient, bytes: Buffer): void {
  (client.socket as unknown as { _socket: { write(b: Buffer): void } })._socket.write(bytes);
}

describe('every close has a documented code and disconnect reason (issue 9, item 12)', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('more than 16,384 fragments: 1008, too_many_fragments; a length of 2^63: 1009, payload_too_large; a reserved opcode: 1002, protocol_error', async () => {
    t = await startTestApp();
    const fragmented = await t.join();
    for (let i = 0; i < 16_400 && fragmented.socket.readyState === fragmented.socket.OPEN; i++) {
      fragmented.socket.send('x', { fin: false });
    }
    expect(await fragmented.closed).toBe(1008);

    const huge = await t.join();
    // FIN + text, masked, 64-bit length 2^63 - 1, a mask key; no payload needed.
    writeRaw(huge, Buffer.from([0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]));
    expect(await huge.closed).toBe(1009);

    const odd = await t.join();
    writeRaw(odd, Buffer.from([0x83, 0x80, 1, 2, 3, 4])); // opcode 3 is reserved
    expect(await odd.closed).toBe(1002);

    const { waitFor } = await import('./support/wait');
    await waitFor(() => t.registry.size === 0 && t.pipeline.pending === 0, 'all cleaned up');
    expect(await t.metric('lifeline_disconnections_total', { reason: 'too_many_fragments' })).toBe(1);
    expect(await t.metric('lifeline_disconnections_total', { reason: 'payload_too_large' })).toBe(1);
    expect(await t.metric('lifeline_disconnections_total', { reason: 'protocol_error' })).toBe(1);
    expect(await t.metric('lifeline_disconnections_total', { reason: 'socket_error' })).toBe(0);
  });
});
