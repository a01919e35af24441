import type { INestApplication } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { CaptureLogger } from '../../../test/support/capture-logger';
import { ClientRegistryService } from '../client-registry.service';
import type { ClientRecord } from '../interfaces/client-record.interface';
import { type CleanupFailedEvent, type ClientDisconnectedEvent, LifelineEvents } from '../lifeline.events';
import { CleanupPipeline } from './cleanup.pipeline';
import { type Connection, Loopback } from '../../../test/support/loopback';
import { collect } from '../../../test/support/events';
import { closeLifelineModule, startLifelineModule } from '../../../test/support/lifeline-testing-app';

const STEP_TIMEOUT_MS = 200;

describe('CleanupPipeline (Nest testing module, real sockets)', () => {
  let app: INestApplication;
  let loop: Loopback;
  let logs: CaptureLogger;
  let registry: ClientRegistryService;
  let pipeline: CleanupPipeline;
  let events: EventEmitter2;
  let disconnected: ClientDisconnectedEvent[];
  let failed: CleanupFailedEvent[];

  const join = async (): Promise<Connection & { record: ClientRecord }> => {
    const connection = await loop.connect();
    return { ...connection, record: registry.register(connection.socket, connection.request) };
  };

  beforeEach(async () => {
    logs = new CaptureLogger();
    app = await startLifelineModule({ heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 100, cleanupStepTimeoutMs: STEP_TIMEOUT_MS }, logs);

    registry = app.get(ClientRegistryService);
    pipeline = app.get(CleanupPipeline);
    events = app.get(EventEmitter2);
    disconnected = collect<ClientDisconnectedEvent>(events, LifelineEvents.disconnected);
    failed = collect<CleanupFailedEvent>(events, LifelineEvents.cleanupFailed);
    loop = await Loopback.start();
  });

  afterEach(async () => {
    await closeLifelineModule(app);
    await loop.close();
  });

  it('unregisters synchronously, before the returned promise is awaited', async () => {
    const { record } = await join();
    const done = pipeline.run(record, 'client_close');
    expect(registry.has(record.id)).toBe(false);
    expect(registry.size).toBe(0);
    expect(pipeline.isClosing(record)).toBe(true);
    expect(pipeline.pending).toBe(1);
    await done;
    expect(pipeline.pending).toBe(0);
  });

  it('run() twice for one record returns the same promise and cleans once; the first reason wins', async () => {
    const { record, client } = await join();
    const dispose = jest.fn();
    registry.attach(record.id, 'r', dispose);

    const first = pipeline.run(record, 'heartbeat_timeout');
    const second = pipeline.run(record, 'client_close');
    expect(second).toBe(first);
    expect(pipeline.pending).toBe(1);
    await first;

    expect(dispose).toHaveBeenCalledTimes(1);
    expect(disconnected).toHaveLength(1);
    expect(disconnected[0]).toMatchObject({ clientId: record.id, reason: 'heartbeat_timeout' });
    expect(typeof disconnected[0].durationMs).toBe('number');
    expect(logs.entries('client disconnected')).toEqual([
      expect.objectContaining({ clientId: record.id, reason: 'heartbeat_timeout' }),
    ]);
    expect(await client.closed).toBe(1006);

    // A late trigger after the cleanup finished is still a no-op.
    await pipeline.run(record, 'connection_lost');
    expect(dispose).toHaveBeenCalledTimes(1);
    expect(disconnected).toHaveLength(1);
  });

  it('releases resources in reverse order of attach, then emits, then terminates', async () => {
    const { record, socket, client } = await join();
    const order: string[] = [];
    for (const name of ['first', 'second', 'third']) {
      registry.attach(record.id, name, () => {
        order.push(name);
      });
    }
    events.on(LifelineEvents.disconnected, () => {
      order.push(`emit (socket ${socket.readyState === WebSocket.OPEN ? 'open' : 'not open'})`);
    });

    await pipeline.run(record, 'client_close');

    expect(order).toEqual(['third', 'second', 'first', 'emit (socket open)']);
    expect(record.resources).toBeUndefined();
    expect(socket.readyState).not.toBe(WebSocket.OPEN);
    expect(await client.closed).toBe(1006);
    expect(failed).toEqual([]);
  });

  it('waits for an async disposer before the next step', async () => {
    const { record } = await join();
    const order: string[] = [];
    registry.attach(record.id, 'later', () => {
      order.push('later');
    });
    registry.attach(record.id, 'slow', async () => {
      await sleep(30);
      order.push('slow done');
    });
    await pipeline.run(record, 'client_close');
    expect(order).toEqual(['slow done', 'later']);
  });

  it('contains a disposer that throws, one that rejects and one that hangs; the rest still runs', async () => {
    const { record, socket, client } = await join();
    const order: string[] = [];
    let hangStartedAt = 0;
    const failedAt: number[] = [];
    events.on(LifelineEvents.cleanupFailed, () => failedAt.push(performance.now()));

    // Attached in this order, released in the reverse one.
    registry.attach(record.id, 'last', () => {
      order.push('last');
    });
    registry.attach(record.id, 'hangs', () => {
      order.push('hangs');
      hangStartedAt = performance.now();
      return new Promise<void>(() => undefined);
    });
    registry.attach(record.id, 'rejects', () => {
      order.push('rejects');
      return Promise.reject(new Error('async failure'));
    });
    registry.attach(record.id, 'throws', () => {
      order.push('throws');
      throw new Error('sync failure');
    });
    registry.attach(record.id, 'first', () => {
      order.push('first');
    });

    await pipeline.run(record, 'client_close');

    expect(order).toEqual(['first', 'throws', 'rejects', 'hangs', 'last']);
    expect(failed).toEqual([
      { clientId: record.id, step: 'release', error: 'Error: sync failure' },
      { clientId: record.id, step: 'release', error: 'Error: async failure' },
      {
        clientId: record.id,
        step: 'release',
        error: `StepTimeoutError: step did not finish within ${STEP_TIMEOUT_MS} ms`,
      },
    ]);
    // The hanging step is abandoned after about cleanupStepTimeoutMs, not sooner, not much later.
    const hungFor = failedAt[2] - hangStartedAt;
    expect(hungFor).toBeGreaterThanOrEqual(STEP_TIMEOUT_MS - 10);
    expect(hungFor).toBeLessThan(STEP_TIMEOUT_MS + 500);

    expect(logs.entries('cleanup step failed').map((e) => e.step)).toEqual([
      'release:throws',
      'release:rejects',
      'release:hangs',
    ]);
    expect(disconnected).toEqual([expect.objectContaining({ clientId: record.id, reason: 'client_close' })]);
    expect(logs.entries('client disconnected')).toEqual([
      expect.objectContaining({ clientId: record.id, failedSteps: 3 }),
    ]);
    expect(socket.readyState).not.toBe(WebSocket.OPEN);
    expect(await client.closed).toBe(1006);
    expect(pipeline.pending).toBe(0);
  });

  it('contains a failing disconnected listener and still terminates the socket', async () => {
    const { record, client } = await join();
    events.on(LifelineEvents.disconnected, () => {
      throw new Error('listener failure');
    });
    await pipeline.run(record, 'socket_error');
    expect(failed).toEqual([{ clientId: record.id, step: 'emit', error: 'Error: listener failure' }]);
    expect(await client.closed).toBe(1006);
  });

  it('does not terminate a socket that is already closed', async () => {
    const { record, socket } = await join();
    socket.close(1000);
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const terminate = jest.spyOn(socket, 'terminate');
    await pipeline.run(record, 'client_close');
    expect(terminate).not.toHaveBeenCalled();
    expect(disconnected).toHaveLength(1);
    terminate.mockRestore();
  });

  it('drain() waits for every cleanup under way; pending is 0 afterwards', async () => {
    const a = await join();
    const b = await join();
    const finished: string[] = [];
    registry.attach(a.record.id, 'slow', async () => {
      await sleep(40);
      finished.push('a');
    });
    registry.attach(b.record.id, 'slower', async () => {
      await sleep(80);
      finished.push('b');
    });

    void pipeline.run(a.record, 'client_close');
    void pipeline.run(b.record, 'connection_lost');
    expect(pipeline.pending).toBe(2);

    await pipeline.drain();

    expect(finished.sort()).toEqual(['a', 'b']);
    expect(disconnected).toHaveLength(2);
    expect(pipeline.pending).toBe(0);
  });

  it('drain() also waits for a cleanup started while it was waiting', async () => {
    const a = await join();
    const b = await join();
    registry.attach(a.record.id, 'starts-another', async () => {
      await sleep(20);
      void pipeline.run(b.record, 'server_shutdown');
    });
    registry.attach(b.record.id, 'slow', () => sleep(40));

    void pipeline.run(a.record, 'server_shutdown');
    await pipeline.drain();

    expect(disconnected.map((e) => e.clientId).sort()).toEqual([a.record.id, b.record.id].sort());
    expect(pipeline.pending).toBe(0);
  });

  it('drain() resolves at once when nothing is running', async () => {
    expect(pipeline.pending).toBe(0);
    await expect(pipeline.drain()).resolves.toBeUndefined();
  });

  it('reports the connection duration in the disconnected event', async () => {
    const { record } = await join();
    await sleep(25);
    await pipeline.run(record, 'client_close');
    expect(disconnected[0].durationMs).toBeGreaterThanOrEqual(20);
  });
});
