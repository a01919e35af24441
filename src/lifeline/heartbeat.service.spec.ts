import type { INestApplication } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ClientOptions, WebSocket } from 'ws';
import { CaptureLogger } from '../../test/support/capture-logger';
import { waitFor } from '../../test/support/wait';
import { CleanupPipeline } from './cleanup/cleanup.pipeline';
import { ClientRegistryService } from './client-registry.service';
import { HEARTBEAT_DEADLINE_NAME, HEARTBEAT_INTERVAL_NAME } from './constants';
import { HeartbeatService, PACED_ABOVE_CLIENTS, PACED_WINDOW } from './heartbeat.service';
import type { ClientRecord } from './interfaces/client-record.interface';
import {
  type ClientDisconnectedEvent,
  type ClientReapedEvent,
  LifelineEvents,
  type SweepEvent,
} from './lifeline.events';
import { type Connection, Loopback } from '../../test/support/loopback';
import { collect } from '../../test/support/events';
import { closeLifelineModule, startLifelineModule } from '../../test/support/lifeline-testing-app';

const INTERVAL_MS = 1000;
const TIMEOUT_MS = 100;

describe('HeartbeatService (Nest testing module, real sockets)', () => {
  let app: INestApplication;
  let loop: Loopback;
  let logs: CaptureLogger;
  let registry: ClientRegistryService;
  let heartbeat: HeartbeatService;
  let pipeline: CleanupPipeline;
  let scheduler: SchedulerRegistry;
  let events: EventEmitter2;
  let reaped: ClientReapedEvent[];
  let disconnected: ClientDisconnectedEvent[];

  /** Connects a real client and registers + tracks its server side, as LifecycleService.open does. */
  const join = async (options: ClientOptions = {}): Promise<Connection & { record: ClientRecord }> => {
    const connection = await loop.connect(options);
    const record = registry.register(connection.socket, connection.request);
    heartbeat.track(record);
    return { ...connection, record };
  };

  /** Removes the deadline pass a sweep schedules, so the test decides when it runs. */
  const cancelScheduledDeadlinePass = () => {
    expect(scheduler.doesExist('timeout', HEARTBEAT_DEADLINE_NAME)).toBe(true);
    scheduler.deleteTimeout(HEARTBEAT_DEADLINE_NAME);
  };

  beforeEach(async () => {
    logs = new CaptureLogger();
    app = await startLifelineModule({
          heartbeatIntervalMs: INTERVAL_MS,
          heartbeatTimeoutMs: TIMEOUT_MS,
          cleanupStepTimeoutMs: 200,
        }, logs);

    registry = app.get(ClientRegistryService);
    heartbeat = app.get(HeartbeatService);
    pipeline = app.get(CleanupPipeline);
    scheduler = app.get(SchedulerRegistry);
    events = app.get(EventEmitter2);
    reaped = collect<ClientReapedEvent>(events, LifelineEvents.reaped);
    disconnected = collect<ClientDisconnectedEvent>(events, LifelineEvents.disconnected);
    loop = await Loopback.start();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await closeLifelineModule(app);
    await loop.close();
  });

  it('starts its interval on bootstrap and has swept nothing yet', () => {
    expect(scheduler.getIntervals()).toContain('lifeline:heartbeat');
    expect(heartbeat.stats).toEqual({
      sweeps: 0,
      skippedTicks: 0,
      pings: 0,
      reaped: 0,
      pingsToClosed: 0,
      failures: 0,
      unmatchedPongs: 0,
      limitedPings: 0,
    });
    expect(heartbeat.status().lastSweepAt).toBeUndefined();
  });

  it('pings an OPEN socket; the pong records rttMs and lastPongAt and clears pingSentAt', async () => {
    const { record, client } = await join();
    const sweeps = collect<SweepEvent>(events, LifelineEvents.swept);

    const before = Date.now();
    const swept = await heartbeat.sweep();
    expect(swept).toMatchObject({ clients: 1, pinged: 1, reaped: 0, failures: 0 });
    expect(record.pingSentAt).not.toBeNaN();
    expect(record.rttMs).toBeNaN();
    expect(record.lastPongAt).toBeNaN();

    await waitFor(() => Number.isNaN(record.pingSentAt), 'pong recorded', 2000);
    expect(client.pings).toBe(1);
    expect(record.rttMs).toEqual(expect.any(Number));
    expect(record.rttMs).toBeGreaterThanOrEqual(0);
    expect(record.rttMs).toBeLessThan(TIMEOUT_MS * 10);
    expect(record.lastPongAt).toBeGreaterThanOrEqual(before);
    expect(record.lastPongAt).toBeLessThanOrEqual(Date.now());
    // The round trip travels with the next sweep event (one emit per sweep).
    await heartbeat.sweep();
    expect(sweeps.map((e) => Array.from(e.rttSamplesMs))).toEqual([[], [record.rttMs]]);
    expect(heartbeat.stats).toMatchObject({ sweeps: 2, pings: 2, reaped: 0, pingsToClosed: 0, failures: 0 });
    await waitFor(() => Number.isNaN(record.pingSentAt), 'second pong recorded', 2000);

    // Answered in time: the deadline check keeps the client.
    expect(heartbeat.checkDeadlines()).toBe(0);
    expect(registry.has(record.id)).toBe(true);
    expect(reaped).toEqual([]);
  });

  it("hands every round trip since the last sweep to the next sweep event, as a copy later pongs do not touch", async () => {
    // More clients than the buffer's first size (64), so it grows once on the way.
    const clients: Awaited<ReturnType<typeof join>>[] = [];
    // One at a time: Loopback pairs each client with the next server-side connection.
    for (let i = 0; i < 70; i++) clients.push(await join());
    const sweeps = collect<SweepEvent>(events, LifelineEvents.swept);
    await heartbeat.sweep();
    await waitFor(() => clients.every((c) => Number.isNaN(c.record.pingSentAt)), 'first pongs recorded', 2000);
    const firstRtts = clients.map((c) => c.record.rttMs).sort((a, b) => a - b);
    await heartbeat.sweep();
    await waitFor(() => clients.every((c) => Number.isNaN(c.record.pingSentAt)), 'second pongs recorded', 2000);
    await heartbeat.sweep();

    expect(sweeps.map((e) => e.rttSamplesMs.length)).toEqual([0, 70, 70]);
    // Typed-array sort is numeric.
    expect(Array.from(sweeps[1].rttSamplesMs.slice().sort())).toEqual(firstRtts);
    expect(Array.from(sweeps[2].rttSamplesMs.slice().sort())).toEqual(clients.map((c) => c.record.rttMs).sort((a, b) => a - b));
  });

  it('sweeps a small server in one burst: no pacing at or below PACED_ABOVE_CLIENTS', async () => {
    const clients: Awaited<ReturnType<typeof join>>[] = [];
    for (let i = 0; i < 40; i++) clients.push(await join());
    expect(PACED_ABOVE_CLIENTS).toBeGreaterThan(clients.length);
    const swept = await heartbeat.sweep();
    expect(swept).toMatchObject({ clients: 40, pinged: 40 });
    // Paced, 40 clients would take PACED_WINDOW x 1000 ms = 500 ms.
    expect(swept?.durationMs).toBeLessThan(50);
    const sentAt = clients.map((c) => c.record.pingSentAt);
    expect(Math.max(...sentAt) - Math.min(...sentAt)).toBeLessThan(50);
  });

  it('paces a large sweep over half the interval, in registry order, each deadline from its own ping', async () => {
    // The tick must not start a sweep of its own while this one is measured.
    scheduler.deleteInterval(HEARTBEAT_INTERVAL_NAME);
    scheduler.addInterval(HEARTBEAT_INTERVAL_NAME, setInterval(() => undefined, 60_000));
    // Pacing acts every 32 clients (the clock check): 128 clients, 4 batches 125 ms apart.
    (heartbeat as unknown as { pacedAbove: number }).pacedAbove = 32;
    const clients: Awaited<ReturnType<typeof join>>[] = [];
    for (let i = 0; i < 128; i++) clients.push(await join({ autoPong: i !== 0 && i !== 127 }));
    const first = clients[0];
    const last = clients[127];

    const swept = await heartbeat.sweep();
    const windowMs = INTERVAL_MS * PACED_WINDOW;
    expect(swept).toMatchObject({ clients: 128, pinged: 128, reaped: 0, failures: 0 });
    // The last batch is due at 3/4 of the window; no pause after it.
    expect(swept?.durationMs).toBeGreaterThanOrEqual(windowMs * 0.75 - 5);
    expect(swept?.durationMs).toBeLessThan(windowMs);

    // The two silent clients, first and last in the registry, were pinged 3/4 of the window apart.
    expect(last.record.pingSentAt - first.record.pingSentAt).toBeGreaterThanOrEqual(windowMs * 0.75 - 5);
    const answering = clients.slice(1, 127);
    await waitFor(() => answering.every((c) => Number.isNaN(c.record.pingSentAt)), 'the others answered', 2000);
    // Each silent client is reaped at its own ping + timeout: the first long before the last was pinged.
    await waitFor(() => reaped.length === 2, 'both silent clients reaped', 2000);
    expect(reaped.map((e) => e.clientId)).toEqual([first.record.id, last.record.id]);
    for (const event of reaped) {
      expect(event.reason).toBe('heartbeat_timeout');
      expect(event.waitedMs).toBeGreaterThanOrEqual(TIMEOUT_MS);
      expect(event.waitedMs).toBeLessThan(TIMEOUT_MS + 60);
    }
    expect(answering.every((c) => registry.has(c.record.id) && c.record.rttMs >= 0)).toBe(true);
  });

  it("pings each sweep with its own token, made sweeps before; a pong echoing an earlier sweep's token answers nothing", async () => {
    const { record, client } = await join({ autoPong: false });
    const payloads: Buffer[] = [];
    client.socket.on('ping', (data: Buffer) => payloads.push(Buffer.from(data)));
    // White box: the tokens made ahead, oldest first (see PING_TOKENS_AHEAD).
    const ahead = (heartbeat as unknown as { nextPingTokens: Buffer[] }).nextPingTokens;

    for (let sweep = 1; sweep <= 3; sweep++) {
      const madeBefore = Buffer.from(ahead[0]);
      await heartbeat.sweep();
      await waitFor(() => payloads.length === sweep, `ping ${sweep}`, 2000);
      expect(payloads[sweep - 1]).toEqual(madeBefore);
      if (sweep > 1) {
        client.socket.pong(payloads[sweep - 2]);
        await waitFor(() => heartbeat.stats.unmatchedPongs === sweep - 1, `stale pong ${sweep - 1} seen`, 2000);
        expect(record.pingSentAt).not.toBeNaN();
      }
      client.socket.pong(payloads[sweep - 1]);
      await waitFor(() => Number.isNaN(record.pingSentAt), `pong ${sweep} recorded`, 2000);
    }

    expect(payloads.map((p) => p.length)).toEqual([8, 8, 8]);
    expect(new Set(payloads.map((p) => p.toString('hex'))).size).toBe(3);
    expect(registry.has(record.id)).toBe(true);
    expect(reaped).toEqual([]);
  });

  it('reaps a client that does not answer (autoPong: false) as heartbeat_timeout once the timeout has passed', async () => {
    const silent = await join({ autoPong: false });
    const responsive = await join();

    expect(await heartbeat.sweep()).toMatchObject({ pinged: 2 });
    cancelScheduledDeadlinePass();
    await waitFor(() => silent.client.pings === 1, 'silent client got its ping', 2000);
    await waitFor(() => Number.isNaN(responsive.record.pingSentAt), 'responsive client answered', 2000);

    // Not due yet: nothing is reaped.
    expect(heartbeat.checkDeadlines()).toBe(0);
    expect(registry.has(silent.record.id)).toBe(true);
    expect(reaped).toEqual([]);
    // It re-armed itself for the deadline; the test keeps the decision.
    cancelScheduledDeadlinePass();

    await sleep(TIMEOUT_MS + 20);
    expect(heartbeat.checkDeadlines()).toBe(1);

    expect(reaped).toHaveLength(1);
    expect(reaped[0]).toMatchObject({ clientId: silent.record.id, reason: 'heartbeat_timeout' });
    expect(reaped[0].waitedMs).toBeGreaterThanOrEqual(TIMEOUT_MS);
    expect(registry.has(silent.record.id)).toBe(false);
    expect(registry.has(responsive.record.id)).toBe(true);
    expect(heartbeat.stats.reaped).toBe(1);

    await pipeline.drain();
    expect(disconnected).toEqual([
      expect.objectContaining({ clientId: silent.record.id, reason: 'heartbeat_timeout' }),
    ]);
    // The pipeline terminated the socket: the client sees an abnormal close.
    expect(await silent.client.closed).toBe(1006);
    expect(silent.client.pings).toBe(1);
  });

  it('reaps at most 32 clients per turn (their cleanups run in that turn) and the rest in the next turns', async () => {
    const silent = [];
    for (let i = 0; i < 40; i++) silent.push(await join({ autoPong: false }));
    expect(await heartbeat.sweep()).toMatchObject({ pinged: 40 });
    cancelScheduledDeadlinePass();
    await sleep(TIMEOUT_MS + 20);

    // A long slice, so the per-turn cap is what stops the batch (not the 1 ms clock on a busy machine).
    const options = heartbeat['options'] as { sweepSliceMs: number };
    const sliceMs = options.sweepSliceMs;
    options.sweepSliceMs = 60_000;
    try {
      expect(heartbeat.checkDeadlines()).toBe(32);
    } finally {
      options.sweepSliceMs = sliceMs;
    }
    // Not a timer: the next batch goes on at the next turn, after its input.
    expect(scheduler.doesExist('timeout', HEARTBEAT_DEADLINE_NAME)).toBe(false);
    expect(heartbeat['nextJudgement']).toBeDefined();
    await waitFor(() => reaped.length === 40, 'the other 8 reaped at the next turn', 2000);
    expect(reaped.map((e) => e.clientId)).toEqual(silent.map((c) => c.record.id));
    expect(heartbeat['nextJudgement']).toBeUndefined();
  });

  it('the deadline timer armed by the first ping reaps the silent client on its own, at ping + timeout', async () => {
    const silent = await join({ autoPong: false });
    await heartbeat.sweep();
    expect(scheduler.doesExist('timeout', HEARTBEAT_DEADLINE_NAME)).toBe(true);
    await waitFor(() => reaped.length === 1, 'scheduled deadline check reaped the client', 2000);
    expect(reaped[0]).toMatchObject({ clientId: silent.record.id, reason: 'heartbeat_timeout' });
    expect(reaped[0].waitedMs).toBeGreaterThanOrEqual(TIMEOUT_MS);
    // Its own deadline, not the next sweep (a whole interval later).
    expect(reaped[0].waitedMs).toBeLessThan(TIMEOUT_MS + 60);
    // Nothing outstanding: no timer left armed.
    expect(scheduler.doesExist('timeout', HEARTBEAT_DEADLINE_NAME)).toBe(false);
  });

  it('enforces deadlines while a sweep is under way (no pass over the registry to wait for)', async () => {
    const silent = await join({ autoPong: false });
    const answering = await join();
    await heartbeat.sweep();
    // From here on a sweep counts as running: before, the deadline pass stood
    // aside for it and a silent client waited a whole interval more.
    heartbeat['sweeping'] = true;
    try {
      await waitFor(() => reaped.length === 1, 'deadline reaped during a sweep', 2000);
    } finally {
      heartbeat['sweeping'] = false;
    }
    expect(reaped[0]).toMatchObject({ clientId: silent.record.id, reason: 'heartbeat_timeout' });
    expect(reaped[0].waitedMs).toBeLessThan(TIMEOUT_MS + 60);
    expect(registry.has(answering.record.id)).toBe(true);
  });

  it('follows each ping to its own deadline: a client pinged in a later sweep is not reaped early or late', async () => {
    const first = await join({ autoPong: false });
    await heartbeat.sweep();
    await sleep(TIMEOUT_MS / 2);
    const second = await join({ autoPong: false });
    await heartbeat.sweep();
    await waitFor(() => reaped.length === 2, 'both silent clients reaped', 2000);
    expect(reaped.map((e) => e.clientId)).toEqual([first.record.id, second.record.id]);
    for (const event of reaped) {
      expect(event.waitedMs).toBeGreaterThanOrEqual(TIMEOUT_MS);
      expect(event.waitedMs).toBeLessThan(TIMEOUT_MS + 60);
    }
  });

  it('a client that answers and is pinged again keeps only its newest deadline', async () => {
    const { record } = await join();
    await heartbeat.sweep();
    await waitFor(() => Number.isNaN(record.pingSentAt), 'first pong', 2000);
    await heartbeat.sweep();
    await waitFor(() => Number.isNaN(record.pingSentAt), 'second pong', 2000);
    await sleep(TIMEOUT_MS + 30);
    expect(reaped).toEqual([]);
    expect(registry.has(record.id)).toBe(true);
    expect(heartbeat['outstanding'].size).toBe(0);
  });

  it('never pings a CLOSING or CLOSED socket; it is cleaned up as stale_socket', async () => {
    const control = await join();
    const closed = await join();
    const closing = await join();
    const pingClosed = jest.spyOn(closed.socket, 'ping');
    const pingClosing = jest.spyOn(closing.socket, 'ping');

    closed.socket.close(1000);
    await new Promise<void>((resolve) => closed.socket.once('close', () => resolve()));
    expect(closed.socket.readyState).toBe(WebSocket.CLOSED);
    closing.socket.close(1000);
    expect(closing.socket.readyState).toBe(WebSocket.CLOSING);

    const swept = await heartbeat.sweep();
    expect(swept).toMatchObject({ clients: 3, pinged: 1, reaped: 2, failures: 0 });
    expect(pingClosed).not.toHaveBeenCalled();
    expect(pingClosing).not.toHaveBeenCalled();

    // The control proves pings do arrive; give the others the same chance.
    await waitFor(() => control.client.pings === 1, 'control client pinged', 2000);
    await sleep(30);
    expect(closed.client.pings).toBe(0);
    expect(closing.client.pings).toBe(0);
    expect(heartbeat.stats.pingsToClosed).toBe(0);

    expect(reaped).toEqual(
      expect.arrayContaining([
        { clientId: closed.record.id, reason: 'stale_socket', waitedMs: undefined },
        { clientId: closing.record.id, reason: 'stale_socket', waitedMs: undefined },
      ]),
    );
    expect(reaped).toHaveLength(2);
    await pipeline.drain();
    expect(disconnected.map((e) => [e.clientId, e.reason]).sort()).toEqual(
      [
        [closed.record.id, 'stale_socket'],
        [closing.record.id, 'stale_socket'],
      ].sort(),
    );
    expect(registry.has(control.record.id)).toBe(true);
    expect(registry.size).toBe(1);
  });

  it('keeps sweeping when the ping throws for one client, and counts one failure', async () => {
    const broken = await join();
    const second = await join();
    const third = await join();
    // The ping is one write of the prebuilt frame to the TCP socket (ws-ping.ts), or ws's ping() as a fallback.
    const explode = () => {
      throw new Error('ping exploded');
    };
    const tcp = (broken.socket as unknown as { _socket: { write: () => boolean } })._socket;
    const failingWrite = jest.spyOn(tcp, 'write').mockImplementation(explode);
    const failingPing = jest.spyOn(broken.socket, 'ping').mockImplementation(explode);

    const swept = await heartbeat.sweep();

    expect(failingWrite.mock.calls.length + failingPing.mock.calls.length).toBe(1);
    expect(swept).toMatchObject({ clients: 3, pinged: 2, failures: 1 });
    expect(heartbeat.stats.failures).toBe(1);
    expect(heartbeat.stats.pings).toBe(2);
    await waitFor(() => second.client.pings === 1 && third.client.pings === 1, 'the others were pinged', 2000);
    expect(broken.client.pings).toBe(0);

    expect(logs.entries('heartbeat failed for client')).toEqual([
      expect.objectContaining({ clientId: broken.record.id, error: 'ping exploded' }),
    ]);
    expect(registry.has(broken.record.id)).toBe(false);
    await pipeline.drain();
    expect(disconnected).toEqual([expect.objectContaining({ clientId: broken.record.id, reason: 'socket_error' })]);
    expect(registry.has(second.record.id)).toBe(true);
    expect(registry.has(third.record.id)).toBe(true);
  });

  it('does not overlap two concurrent sweeps: the second returns undefined and counts a skipped tick', async () => {
    const { client } = await join();
    const first = heartbeat.sweep();
    const second = heartbeat.sweep();

    expect(await second).toBeUndefined();
    expect(await first).toMatchObject({ clients: 1, pinged: 1 });
    expect(heartbeat.stats.skippedTicks).toBe(1);
    expect(heartbeat.stats.sweeps).toBe(1);
    expect(heartbeat.stats.pings).toBe(1);
    await waitFor(() => client.pings === 1, 'one ping delivered', 2000);

    // Once the first is done, the next sweep runs again.
    expect(await heartbeat.sweep()).toBeDefined();
    expect(heartbeat.stats.sweeps).toBe(2);
    expect(heartbeat.stats.skippedTicks).toBe(1);
  });

  it('status() turns unhealthy when the last sweep is older than 2 x interval + timeout', async () => {
    const limit = 2 * INTERVAL_MS + TIMEOUT_MS;
    await heartbeat.sweep();
    const { lastSweepAt } = heartbeat.status();
    if (lastSweepAt === undefined) throw new Error('a completed sweep must set lastSweepAt');

    expect(heartbeat.status(lastSweepAt + limit)).toEqual({
      intervalMs: INTERVAL_MS,
      timeoutMs: TIMEOUT_MS,
      lastSweepAt,
      healthy: true,
      sinceLastSweepMs: limit,
    });
    expect(heartbeat.status(lastSweepAt + limit + 1)).toMatchObject({ healthy: false, sinceLastSweepMs: limit + 1 });
  });

  it('status() measures from start-up before the first sweep', () => {
    const now = Date.now();
    expect(heartbeat.status(now)).toMatchObject({ lastSweepAt: undefined, healthy: true });
    expect(heartbeat.status(now + 2 * INTERVAL_MS + TIMEOUT_MS + 1000).healthy).toBe(false);
  });

  it('counts a ping to a socket that is not OPEN (pingsToClosed), emits the event and sends nothing', async () => {
    const { socket } = await join();
    const pingToClosed = collect<{ error: string }>(events, LifelineEvents.pingToClosed);
    socket.close(1000);
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(socket.readyState).toBe(WebSocket.CLOSED);

    const ping = jest.spyOn(socket, 'ping');
    // The double check keeps sweeps from getting here; this is the tripwire behind it.
    expect(heartbeat['sendPing'](socket)).toBe(false);
    expect(ping).not.toHaveBeenCalled();
    expect(heartbeat.stats.pingsToClosed).toBe(1);
    expect(pingToClosed.map((e) => e.error)).toEqual([expect.stringContaining('WebSocket is not open')]);
  });

  it('stop() makes sweep() a counted no-op', async () => {
    const { client } = await join();
    heartbeat.stop();
    expect(await heartbeat.sweep()).toBeUndefined();
    expect(heartbeat.stats.skippedTicks).toBe(1);
    expect(heartbeat.stats.pings).toBe(0);
    await sleep(30);
    expect(client.pings).toBe(0);
    heartbeat.start();
    expect(await heartbeat.sweep()).toMatchObject({ pinged: 1 });
  });
});
