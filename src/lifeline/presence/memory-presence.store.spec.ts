import type { PresenceStoreHost, TopicChange } from './interfaces/presence-store.interface';
import { MemoryPresenceStore } from './memory-presence.store';
import { USER_SCOPE } from './presence.constants';

const GRACE = 100;

describe('MemoryPresenceStore', () => {
  let now: number;
  let store: MemoryPresenceStore;
  let changes: TopicChange[];

  beforeEach(() => {
    now = 1_000_000;
    changes = [];
    store = new MemoryPresenceStore(GRACE, () => now);
    const host: PresenceStoreHost = {
      localEntries: () => [],
      onTopicChange: (c) => changes.push(c),
      onStoreReset: () => undefined,
    };
    store.bind(host);
  });

  const connect = (member: string, clientId: string, scope = USER_SCOPE) =>
    store.apply([{ add: true, scope, member, clientId }]);
  const disconnect = (member: string, clientId: string, scope = USER_SCOPE, immediate = false) =>
    store.apply([{ add: false, scope, member, clientId, reason: 'connection_lost', immediate }]);

  it('one member for several connections: one online, and offline only a grace after the last one left', async () => {
    expect(await connect('u:a', 'c1')).toEqual([{ to: 'online', member: 'u:a', since: now, at: now }]);
    expect(await connect('u:a', 'c2')).toEqual([]);
    await disconnect('u:a', 'c1');
    now += GRACE * 2;
    expect(await store.tick()).toEqual([]);
    await disconnect('u:a', 'c2');
    const leftAt = now;
    now += GRACE - 1;
    expect(await store.tick()).toEqual([]);
    expect(await store.online(['u:a'])).toEqual([true]);
    now += 1;
    expect(await store.tick()).toEqual([
      { to: 'offline', member: 'u:a', since: 1_000_000, at: leftAt + GRACE, reason: 'connection_lost' },
    ]);
    expect(await store.online(['u:a'])).toEqual([false]);
    expect(store.sizes).toEqual({ scopes: 0, members: 0, graces: 0 });
  });

  it('counts connections exactly from one to several and back (a lone one is kept without a Set)', async () => {
    const connections = async () => (await store.member(USER_SCOPE, 'u:a'))?.nodes.local ?? 0;
    await connect('u:a', 'c1');
    await connect('u:a', 'c1'); // the same connection twice is one
    expect(await connections()).toBe(1);
    await disconnect('u:a', 'other'); // never there: no change
    expect(await connections()).toBe(1);
    await connect('u:a', 'c2');
    await connect('u:a', 'c3');
    expect(await connections()).toBe(3);
    await disconnect('u:a', 'c1');
    await disconnect('u:a', 'c1');
    expect(await connections()).toBe(2);
    await disconnect('u:a', 'c2');
    await disconnect('u:a', 'c3');
    expect(await connections()).toBe(0);
    expect(store.sizes.graces).toBe(1);
    await disconnect('u:a', 'c3');
    await disconnect('u:a', '');
    expect(store.sizes.graces).toBe(1);
    await connect('u:a', 'c4'); // back within the grace
    expect(await connections()).toBe(1);
    now += GRACE;
    expect(await store.tick()).toEqual([]);
  });

  it('coming back within the grace is no transition; the stale grace entry is skipped', async () => {
    await connect('u:a', 'c1');
    await disconnect('u:a', 'c1');
    now += GRACE / 2;
    expect(await connect('u:a', 'c2')).toEqual([]);
    now += GRACE;
    expect(await store.tick()).toEqual([]);
    expect(store.sizes).toEqual({ scopes: 1, members: 1, graces: 0 });
    // A second leave starts a fresh grace, not the stale one.
    await disconnect('u:a', 'c2');
    now += GRACE - 1;
    expect(await store.tick()).toEqual([]);
    now += 1;
    expect(await store.tick()).toHaveLength(1);
  });

  it('a member in its grace reports when it ends and no connection; the offline carries the reason of the last leave', async () => {
    await connect('u:a', 'c1');
    await store.apply([{ add: false, scope: USER_SCOPE, member: 'u:a', clientId: 'c1', reason: 'client_close' }]);
    expect(await store.member(USER_SCOPE, 'u:a')).toEqual({ member: 'u:a', since: now, nodes: {}, leavingAt: now + GRACE });
    // Leaving again without being back is nothing: still the first grace.
    expect(await disconnect('u:a', 'c1')).toEqual([]);
    await connect('u:a', 'c2');
    expect(await store.member(USER_SCOPE, 'u:a')).toEqual({ member: 'u:a', since: now, nodes: { local: 1 }, leavingAt: undefined });
    await store.apply([{ add: false, scope: USER_SCOPE, member: 'u:a', clientId: 'c2', reason: 'heartbeat_timeout' }]);
    now += GRACE;
    expect(await store.tick()).toEqual([{ to: 'offline', member: 'u:a', since: now - GRACE, at: now, reason: 'heartbeat_timeout' }]);
  });

  it('topic changes: join once, leave after the grace, or at once for an explicit unsubscribe', async () => {
    await connect('u:a', 'c1', 't');
    await connect('u:a', 'c2', 't');
    expect(changes).toEqual([{ topic: 't', join: true, member: 'u:a', since: now }]);
    await disconnect('u:a', 'c1', 't');
    await disconnect('u:a', 'c2', 't');
    expect(changes).toHaveLength(1);
    now += GRACE;
    await store.tick();
    expect(changes[1]).toEqual({ topic: 't', join: false, member: 'u:a', since: 1_000_000 });
    await connect('u:b', 'c3', 't');
    await disconnect('u:b', 'c3', 't', true);
    expect(changes.slice(2).map((c) => c.join)).toEqual([true, false]);
    expect((await store.members('t')).length).toBe(0);
  });

  it('graces end in order from one queue, however many members leave', async () => {
    for (let i = 0; i < 5000; i++) await connect(`u:${i}`, `c${i}`);
    for (let i = 0; i < 5000; i++) {
      await disconnect(`u:${i}`, `c${i}`);
      if (i % 1000 === 999) now += 10;
    }
    expect(store.sizes.graces).toBe(5000);
    now += GRACE - 40; // 10 ms into the second thousand's grace end
    expect((await store.tick()).length).toBe(2000);
    now += 30;
    expect((await store.tick()).length).toBe(3000);
    expect(store.sizes).toEqual({ scopes: 0, members: 0, graces: 0 });
  });
});
