import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_PUBLISH_IDS_PER_SESSION } from './interfaces/session-store.interface';
import { MemorySessionStore } from './memory-session-store';
import { hashToken, newToken, sameHash, sessionIdOf } from './session-token';

describe('MemorySessionStore', () => {
  const stores: MemorySessionStore[] = [];
  const make = (ttlMs = 60_000) => {
    const store = new MemorySessionStore(ttlMs);
    stores.push(store);
    return store;
  };
  afterEach(() => stores.splice(0).forEach((s) => s.close()));

  it('tokens: 192 random bits after the session id; only a hash is compared', () => {
    const token = newToken('sid-1');
    expect(sessionIdOf(token)).toBe('sid-1');
    expect(Buffer.from(token.split('.')[1], 'base64url').length).toBe(24);
    expect(newToken('sid-1')).not.toBe(token);
    expect(sameHash(hashToken(token), hashToken(token))).toBe(true);
    expect(sameHash(hashToken(token), hashToken(`${token}x`))).toBe(false);
    expect(sameHash(undefined, hashToken(token))).toBe(false);
    expect(sessionIdOf('nodot')).toBeUndefined();
  });

  it('takeOver checks the token (current or previous), the user, and hands over the topics', async () => {
    const store = make();
    await store.create({ id: 's', tokenHash: 'h1', userId: 'alice', owner: 'c1' });
    await store.addTopic('s', 'news');
    // Watched with presence; a later plain subscribe keeps the flag, an unsubscribe drops both.
    await store.addTopic('s', 'room', true);
    await store.addTopic('s', 'room');
    await store.addTopic('s', 'gone', true);
    await store.removeTopic('s', 'gone');
    expect(await store.takeOver('s', 'nope', 'h2', 'c2', 'alice')).toEqual({ ok: false, reason: 'unknown_session' });
    expect(await store.takeOver('x', 'h1', 'h2', 'c2', 'alice')).toEqual({ ok: false, reason: 'unknown_session' });
    expect(await store.takeOver('s', 'h1', 'h2', 'c2', 'bob')).toEqual({ ok: false, reason: 'forbidden' });
    expect(await store.takeOver('s', 'h1', 'h2', 'c2', 'alice')).toEqual({ ok: true, previousOwner: { clientId: 'c1' }, topics: ['news', 'room'], presence: ['room'] });
    // The previous token still works once (a `resumed` lost on the way); an older one does not.
    expect(await store.takeOver('s', 'h1', 'h3', 'c3', 'alice')).toMatchObject({ ok: true, previousOwner: { clientId: 'c2' } });
    expect(await store.takeOver('s', 'h2', 'h4', 'c4', 'alice')).toMatchObject({ ok: false, reason: 'unknown_session' });
  });

  it('release by a connection that no longer holds the session changes nothing', async () => {
    const store = make(50);
    await store.create({ id: 's', tokenHash: 'h1', userId: undefined, owner: 'c1' });
    await store.takeOver('s', 'h1', 'h2', 'c2', undefined);
    await store.release('s', 'c1'); // the old connection's cleanup
    await sleep(120);
    expect(store.size).toBe(1);
    expect(await store.takeOver('s', 'h2', 'h3', 'c3', undefined)).toMatchObject({ ok: true, previousOwner: { clientId: 'c2' } });
  });

  it('expires released sessions after the TTL and says expired, then forgets them', async () => {
    const store = make(60);
    await store.create({ id: 's', tokenHash: 'h1', userId: undefined, owner: 'c1' });
    await store.release('s', 'c1');
    await sleep(120);
    expect(store.size).toBe(0);
    expect(store.tombstoneCount).toBe(1);
    expect(await store.takeOver('s', 'h1', 'h2', 'c2', undefined)).toEqual({ ok: false, reason: 'expired' });
  });

  it('a session resumed before its TTL is not expired by its stale queue entry', async () => {
    const store = make(80);
    await store.create({ id: 's', tokenHash: 'h1', userId: undefined, owner: 'c1' });
    await store.release('s', 'c1');
    await sleep(40);
    await store.takeOver('s', 'h1', 'h2', 'c2', undefined);
    await sleep(100);
    expect(store.size).toBe(1);
  });

  it('a released session taken over has no previous owner, and expires on its second release only', async () => {
    const store = make(80);
    await store.create({ id: 's', tokenHash: 'h1', userId: undefined, owner: 'c1' });
    await store.release('s', 'c1');
    await sleep(40);
    expect(await store.takeOver('s', 'h1', 'h2', 'c2', undefined)).toEqual({ ok: true, previousOwner: undefined, topics: [], presence: [] });
    await store.release('s', 'c2');
    // The first release's deadline passes: stale, the session stays.
    await sleep(60);
    expect(store.size).toBe(1);
    await sleep(80);
    expect(store.size).toBe(0);
    expect(await store.takeOver('s', 'h2', 'h3', 'c3', undefined)).toEqual({ ok: false, reason: 'expired' });
  });

  it('remembers publish ids, the oldest forgotten beyond the bound', async () => {
    const store = make();
    await store.create({ id: 's', tokenHash: 'h', userId: undefined, owner: 'c' });
    for (let i = 0; i <= MAX_PUBLISH_IDS_PER_SESSION; i++) await store.rememberPublished('s', `p${i}`, { topic: 't', offset: i + 1 });
    expect(await store.published('s', 'p0')).toBeUndefined();
    expect(await store.published('s', 'p1')).toEqual({ topic: 't', offset: 2 });
    expect(await store.published('s', `p${MAX_PUBLISH_IDS_PER_SESSION}`)).toEqual({ topic: 't', offset: MAX_PUBLISH_IDS_PER_SESSION + 1 });
    await store.discard('s');
    expect(await store.published('s', 'p1')).toBeUndefined();
  });
});
