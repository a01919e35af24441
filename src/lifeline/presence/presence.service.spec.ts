import { Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ClientRegistryService } from '../client-registry.service';
import { resolveLifelineOptions } from '../lifeline.options';
import type { PresenceOfflineEvent, PresenceOnlineEvent } from './interfaces/presence.interface';
import type { PresenceOp, PresenceStore, UserTransition } from './interfaces/presence-store.interface';
import { MemoryPresenceStore } from './memory-presence.store';
import { PresenceEvents } from './presence.constants';
import { PresenceService, TRANSITIONS_PER_TURN } from './presence.service';

/** A memory store whose tick() and apply() answer what the test queued. */
class ScriptedStore extends MemoryPresenceStore implements PresenceStore {
  nextTick: UserTransition[] = [];
  nextApply: UserTransition[] = [];
  override tick(): Promise<UserTransition[]> {
    const out = this.nextTick;
    this.nextTick = [];
    return Promise.resolve(out);
  }
  override apply(_ops: PresenceOp[]): Promise<UserTransition[]> {
    const out = this.nextApply;
    this.nextApply = [];
    return Promise.resolve(out);
  }
}

const offline = (i: number): UserTransition => ({ to: 'offline', member: `u:user-${i}`, since: 1, at: 2, reason: 'heartbeat_timeout' });

describe('PresenceService: transitions of a mass disconnect', () => {
  let presence: PresenceService;
  let store: ScriptedStore;
  let heard: string[];

  // Thousands of 'user offline' log lines otherwise.
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    const options = resolveLifelineOptions({});
    const events = new EventEmitter2();
    presence = new PresenceService(options, new ClientRegistryService(), events);
    store = new ScriptedStore(options.presence.graceMs);
    presence.useStore(store);
    heard = [];
    events.on(PresenceEvents.offline, (e: PresenceOfflineEvent) => heard.push(`off ${e.userId}`));
    events.on(PresenceEvents.online, (e: PresenceOnlineEvent) => heard.push(`on ${e.userId}`));
  });

  afterEach(() => presence.onApplicationShutdown());

  it('emits a small batch in the turn it arrives', async () => {
    store.nextTick = [offline(1), offline(2)];
    await presence.tick();
    expect(heard).toEqual(['off user-1', 'off user-2']);
  });

  it(`emits a batch of thousands at most ${TRANSITIONS_PER_TURN} per turn, all of them in order in the end`, async () => {
    const n = 10 * TRANSITIONS_PER_TURN + 5;
    store.nextTick = Array.from({ length: n }, (_, i) => offline(i));
    await presence.tick();
    const perTurn = [heard.length];
    while (heard.length < n && perTurn.length < 50) {
      await nextTurn();
      perTurn.push(heard.length - perTurn.reduce((a, b) => a + b, 0));
    }
    expect(Math.max(...perTurn)).toBeLessThanOrEqual(TRANSITIONS_PER_TURN);
    expect(heard).toEqual(Array.from({ length: n }, (_, i) => `off user-${i}`));
  });

  it("a user's online that comes while its offline is still queued is emitted after it", async () => {
    store.nextTick = Array.from({ length: 3 * TRANSITIONS_PER_TURN }, (_, i) => offline(i));
    await presence.tick();
    const last = 3 * TRANSITIONS_PER_TURN - 1;
    expect(heard).not.toContain(`off user-${last}`);
    // The user came back: a small batch, but it must wait for the queue ahead of it.
    store.nextTick = [{ to: 'online', member: `u:user-${last}`, since: 3, at: 3 }];
    await presence.tick();
    for (let i = 0; i < 10 && heard.length < 3 * TRANSITIONS_PER_TURN + 1; i++) await nextTurn();
    expect(heard.slice(-2)).toEqual([`off user-${last}`, `on user-${last}`]);
  });

  it('shutdown emits what is still queued', async () => {
    store.nextTick = Array.from({ length: 2 * TRANSITIONS_PER_TURN + 1 }, (_, i) => offline(i));
    await presence.tick();
    expect(heard.length).toBeLessThan(2 * TRANSITIONS_PER_TURN + 1);
    presence.onApplicationShutdown();
    expect(heard.length).toBe(2 * TRANSITIONS_PER_TURN + 1);
  });
});
