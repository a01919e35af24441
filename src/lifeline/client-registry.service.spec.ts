import { ClientRegistryService } from './client-registry.service';
import { Loopback } from '../../test/support/loopback';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Lets queued microtasks and one macrotask turn run. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ClientRegistryService (real sockets)', () => {
  let loop: Loopback;
  let registry: ClientRegistryService;

  beforeEach(async () => {
    loop = await Loopback.start();
    registry = new ClientRegistryService();
  });

  afterEach(() => loop.close());

  describe('register', () => {
    it('gives a fresh UUID and takes remote address and user agent from the request', async () => {
      const { socket, request } = await loop.connect({ headers: { 'user-agent': 'lifeline-spec/1.0' } });
      const before = Date.now();
      const record = registry.register(socket, request);
      const after = Date.now();

      expect(record.id).toMatch(UUID);
      expect(record.socket).toBe(socket);
      expect(record.remoteAddress).toBe('127.0.0.1');
      expect(record.userAgent).toBe('lifeline-spec/1.0');
      expect(record.connectedAt).toBeGreaterThanOrEqual(before);
      expect(record.connectedAt).toBeLessThanOrEqual(after);
      expect(record).toMatchObject({
        lastPongAt: Number.NaN,
        rttMs: Number.NaN,
        pingSentAt: Number.NaN,
        closeCode: undefined,
        errorCode: undefined,
        userId: undefined,
        rateFullAt: 0,
        rateStrikes: 0,
        backpressureSince: undefined,
        resources: undefined,
      });
      expect(registry.get(record.id)).toBe(record);
      expect(registry.has(record.id)).toBe(true);
      expect(registry.size).toBe(1);
    });

    it('leaves remote address and user agent undefined without a request', async () => {
      const { socket } = await loop.connect();
      const record = registry.register(socket);
      expect(record.remoteAddress).toBeUndefined();
      expect(record.userAgent).toBeUndefined();
      expect(registry.has(record.id)).toBe(true);
    });

    it('gives every socket its own id', async () => {
      const a = await loop.connect();
      const b = await loop.connect();
      const first = registry.register(a.socket, a.request);
      const second = registry.register(b.socket, b.request);
      expect(second.id).not.toBe(first.id);
      expect(registry.size).toBe(2);
    });

    it('returns the same record when the same socket is registered twice', async () => {
      const { socket, request } = await loop.connect();
      const first = registry.register(socket, request);
      const second = registry.register(socket, request);
      expect(second).toBe(first);
      expect(registry.size).toBe(1);
    });
  });

  describe('unregister', () => {
    it('removes the client and returns its record the first time only', async () => {
      const { socket, request } = await loop.connect();
      const record = registry.register(socket, request);

      expect(registry.unregister(record.id)).toBe(record);
      expect(registry.has(record.id)).toBe(false);
      expect(registry.get(record.id)).toBeUndefined();
      expect(registry.size).toBe(0);

      expect(registry.unregister(record.id)).toBeUndefined();
      expect(registry.size).toBe(0);
    });

    it('returns undefined for an id it never knew', () => {
      expect(registry.unregister('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    });

    it('still finds the record from its socket after unregister', async () => {
      const { socket, request } = await loop.connect();
      const record = registry.register(socket, request);
      registry.unregister(record.id);
      expect(registry.fromSocket(socket)).toBe(record);
    });

    it('finds nothing for a socket that was never registered', async () => {
      const { socket } = await loop.connect();
      expect(registry.fromSocket(socket)).toBeUndefined();
    });
  });

  describe('size and values are live views', () => {
    it('size follows register and unregister', async () => {
      const a = await loop.connect();
      const b = await loop.connect();
      expect(registry.size).toBe(0);
      const first = registry.register(a.socket, a.request);
      expect(registry.size).toBe(1);
      registry.register(b.socket, b.request);
      expect(registry.size).toBe(2);
      registry.unregister(first.id);
      expect(registry.size).toBe(1);
    });

    it('values() skips entries unregistered during the iteration (no copy)', async () => {
      const records = [];
      for (let i = 0; i < 3; i++) {
        const { socket, request } = await loop.connect();
        records.push(registry.register(socket, request));
      }
      const [first, second, third] = records;

      const visited: string[] = [];
      for (const record of registry.values()) {
        visited.push(record.id);
        if (record === first) registry.unregister(second.id);
      }
      expect(visited).toEqual([first.id, third.id]);
    });

    it('values() sees a client registered after the iterator was created', async () => {
      const a = await loop.connect();
      const b = await loop.connect();
      const first = registry.register(a.socket, a.request);
      const iterator = registry.values();
      const second = registry.register(b.socket, b.request);
      expect([...iterator]).toEqual([first, second]);
    });
  });

  describe('resources', () => {
    it('attach, detach and takeResources: newest first, detached ones left out', async () => {
      const { socket, request } = await loop.connect();
      const record = registry.register(socket, request);
      const noop = () => undefined;

      expect(registry.attach(record.id, 'a', noop)).toBe(true);
      expect(registry.attach(record.id, 'b', noop)).toBe(true);
      expect(registry.attach(record.id, 'c', noop)).toBe(true);
      expect(registry.attach(record.id, 'd', noop)).toBe(true);

      expect(registry.detach(record.id, 'b')).toBe(true);
      expect(registry.detach(record.id, 'b')).toBe(false);
      expect(registry.detach(record.id, 'unknown')).toBe(false);

      expect(registry.takeResources(record).map((r) => r.name)).toEqual(['d', 'c', 'a']);
      expect(record.resources).toBeUndefined();
      expect(registry.takeResources(record)).toEqual([]);
    });

    it('hands over the very disposers that were attached', async () => {
      const { socket, request } = await loop.connect();
      const record = registry.register(socket, request);
      const dispose = jest.fn();
      registry.attach(record.id, 'only', dispose);
      const [resource] = registry.takeResources(record);
      expect(resource.dispose).toBe(dispose);
      expect(dispose).not.toHaveBeenCalled();
    });

    it('detach does not run the disposer, and fails for an unknown client', async () => {
      const { socket, request } = await loop.connect();
      const record = registry.register(socket, request);
      const dispose = jest.fn();
      registry.attach(record.id, 'r', dispose);
      registry.detach(record.id, 'r');
      await tick();
      expect(dispose).not.toHaveBeenCalled();
      expect(registry.detach('no-such-client', 'r')).toBe(false);
    });

    it('attach to an unknown client runs the disposer at once and returns false', async () => {
      const dispose = jest.fn();
      expect(registry.attach('no-such-client', 'r', dispose)).toBe(false);
      await tick();
      expect(dispose).toHaveBeenCalledTimes(1);
    });

    it('attach to an unregistered client runs the disposer and keeps nothing', async () => {
      const { socket, request } = await loop.connect();
      const record = registry.register(socket, request);
      registry.unregister(record.id);
      const dispose = jest.fn();
      expect(registry.attach(record.id, 'late', dispose)).toBe(false);
      await tick();
      expect(dispose).toHaveBeenCalledTimes(1);
      expect(record.resources).toBeUndefined();
    });

    it('contains a disposer that throws or rejects when the client is unknown', async () => {
      // A leaked rejection would fail this test: jest reports unhandled rejections.
      const throwing = jest.fn(() => {
        throw new Error('sync failure');
      });
      const rejecting = jest.fn(() => Promise.reject(new Error('async failure')));
      expect(registry.attach('gone', 'x', throwing)).toBe(false);
      expect(registry.attach('gone', 'y', rejecting)).toBe(false);
      await tick();
      await tick();
      expect(throwing).toHaveBeenCalledTimes(1);
      expect(rejecting).toHaveBeenCalledTimes(1);
    });

    it('refuses to attach the same name twice to one client', async () => {
      const { socket, request } = await loop.connect();
      const record = registry.register(socket, request);
      const original = jest.fn();
      const duplicate = jest.fn();
      registry.attach(record.id, 'topic:news', original);
      expect(() => registry.attach(record.id, 'topic:news', duplicate)).toThrow(
        `resource "topic:news" is already attached to client ${record.id}`,
      );
      const taken = registry.takeResources(record);
      expect(taken).toHaveLength(1);
      expect(taken[0].dispose).toBe(original);
      await tick();
      expect(duplicate).not.toHaveBeenCalled();
    });

    it('attachResource: one shared object on every client, its disposer given the record; a gone client disposes at once', async () => {
      const a = await loop.connect();
      const b = await loop.connect();
      const first = registry.register(a.socket, a.request);
      const second = registry.register(b.socket, b.request);
      const dispose = jest.fn();
      const shared = { name: 'shared', dispose };
      expect(registry.attachResource(first, shared)).toBe(true);
      expect(registry.attachResource(second, shared)).toBe(true);
      expect(() => registry.attachResource(first, shared)).toThrow('resource "shared" is already attached');
      registry.attach(first.id, 'own', () => undefined);
      const taken = registry.takeResources(first);
      expect(taken.map((r) => r.name)).toEqual(['own', 'shared']);
      expect(taken[1]).toBe(shared);
      expect(registry.takeResources(second)[0]).toBe(shared);

      registry.unregister(second.id);
      expect(registry.attachResource(second, shared)).toBe(false);
      await tick();
      expect(dispose).toHaveBeenCalledTimes(1);
      expect(dispose).toHaveBeenCalledWith(undefined, second);
      expect(second.resources).toBeUndefined();
    });

    it('clients that attached the same shared resources in the same order share one frozen list; detach and take copy it', async () => {
      const a = registry.register((await loop.connect()).socket);
      const b = registry.register((await loop.connect()).socket);
      const c = registry.register((await loop.connect()).socket);
      const session = { name: 'session', dispose: jest.fn() };
      const presence = { name: 'presence', dispose: jest.fn() };
      for (const record of [a, b, c]) {
        registry.attachResource(record, session);
        registry.attachResource(record, presence);
      }
      expect(a.resources).toEqual([session, presence]);
      expect(b.resources).toBe(a.resources);
      expect(c.resources).toBe(a.resources);
      expect(Object.isFrozen(a.resources)).toBe(true);

      // Another order is another list.
      const d = registry.register((await loop.connect()).socket);
      registry.attachResource(d, presence);
      registry.attachResource(d, session);
      expect(d.resources).toEqual([presence, session]);
      expect(d.resources).not.toBe(a.resources);

      expect(registry.detach(a.id, 'session')).toBe(true);
      expect(a.resources).toEqual([presence]);
      expect(b.resources).toEqual([session, presence]);

      expect(registry.takeResources(b)).toEqual([presence, session]);
      expect(c.resources).toEqual([session, presence]);

      // A per-client resource gets the client a list of its own; the shared one is left as it was.
      registry.attach(c.id, 'own', () => undefined);
      expect(c.resources?.map((r) => r.name)).toEqual(['session', 'presence', 'own']);
      expect(Object.isFrozen(c.resources)).toBe(false);
      const e = registry.register((await loop.connect()).socket);
      registry.attachResource(e, session);
      registry.attachResource(e, presence);
      expect(e.resources).toEqual([session, presence]);
      expect(registry.takeResources(c).map((r) => r.name)).toEqual(['own', 'presence', 'session']);
    });

    it('allows the same name on different clients', async () => {
      const a = await loop.connect();
      const b = await loop.connect();
      const first = registry.register(a.socket, a.request);
      const second = registry.register(b.socket, b.request);
      expect(registry.attach(first.id, 'topic:news', () => undefined)).toBe(true);
      expect(registry.attach(second.id, 'topic:news', () => undefined)).toBe(true);
    });
  });

  describe('clock and rare fields (column and lazy object behind accessors)', () => {
    it('reads back what is written, per client, and keeps a departed record on its own copy', async () => {
      const first = registry.register((await loop.connect()).socket);
      const second = registry.register((await loop.connect()).socket);
      first.lastPongAt = 1_000.5;
      first.rttMs = 2.25;
      first.pingSentAt = 3;
      first.rateFullAt = 4;
      second.lastPongAt = 9;
      expect([first.lastPongAt, first.rttMs, first.pingSentAt, first.rateFullAt]).toEqual([1_000.5, 2.25, 3, 4]);
      expect([second.lastPongAt, second.rttMs]).toEqual([9, Number.NaN]);

      const connectedAt = first.connectedAt;
      registry.unregister(first.id);
      // The next client takes the freed slot and writes its own clocks.
      const third = registry.register((await loop.connect()).socket);
      third.lastPongAt = 77;
      third.rttMs = 88;
      expect(third).toMatchObject({ pingSentAt: Number.NaN, rateFullAt: 0, expiresAt: Number.NaN });
      expect(first).toMatchObject({ connectedAt, lastPongAt: 1_000.5, rttMs: 2.25, pingSentAt: 3, rateFullAt: 4 });
      // Late writes to a departed record (a pong after cleanup) land on its copy only.
      first.lastPongAt = 5;
      expect(third.lastPongAt).toBe(77);
      expect(first.lastPongAt).toBe(5);
      expect(registry.unregister(first.id)).toBeUndefined();
      expect(first.lastPongAt).toBe(5);
    });

    it('gives thousands of clients slots of their own (across chunks)', async () => {
      const { socket } = await loop.connect();
      const sockets = Array.from({ length: 2_500 }, () => Object.create(socket) as typeof socket);
      const records = sockets.map((s) => registry.register(s));
      records.forEach((r, i) => (r.lastPongAt = i));
      expect(records.every((r, i) => r.lastPongAt === i)).toBe(true);
      for (const r of records.slice(0, 1_000)) registry.unregister(r.id);
      const again = Array.from({ length: 1_000 }, () => registry.register(Object.create(socket) as typeof socket));
      again.forEach((r) => (r.lastPongAt = -1));
      expect(records.every((r, i) => r.lastPongAt === i)).toBe(true);
      expect(again.every((r) => r.lastPongAt === -1 && Number.isNaN(r.rttMs))).toBe(true);
    });

    it('rare fields start undefined and hold what is set', async () => {
      const record = registry.register((await loop.connect()).socket);
      expect([record.closeCode, record.errorCode, record.backpressureSince, record.presenceTopics, record.topicClaims]).toEqual([
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
      record.backpressureSince = undefined;
      record.closeCode = 1006;
      record.errorCode = 'WS_ERR_INVALID_UTF8';
      record.presenceTopics = new Set(['a']);
      record.backpressureSince = 12.5;
      expect(record).toMatchObject({ closeCode: 1006, errorCode: 'WS_ERR_INVALID_UTF8', backpressureSince: 12.5 });
      expect([...(record.presenceTopics ?? [])]).toEqual(['a']);
      record.backpressureSince = undefined;
      expect(record.backpressureSince).toBeUndefined();
    });
  });
});
