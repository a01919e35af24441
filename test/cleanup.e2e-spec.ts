import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  Module,
  type NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { SubscribeMessage } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import {
  type ClientConnectedEvent,
  ClientRegistryService,
  LifecycleCall,
  LifelineEvents,
  LifelineGateway,
} from '../src/lifeline';
import { startTestApp, TEST_ENV, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';
import type { TestClient } from './support/ws-client';

/**
 * An extension module, as a team would write one: on connect it attaches a
 * per-client resource. The user agent picks how its disposer misbehaves.
 */
@Injectable()
class FaultyExtension {
  readonly released: string[] = [];
  constructor(private readonly registry: ClientRegistryService) {}

  @OnEvent(LifelineEvents.connected)
  onConnected(event: ClientConnectedEvent): void {
    const mode = event.userAgent;
    this.registry.attach(event.clientId, 'faulty', () => {
      if (mode === 'throws') throw new Error('disposer threw');
      if (mode === 'rejects') return Promise.reject(new Error('disposer rejected'));
      if (mode === 'hangs') return new Promise<void>(() => undefined);
      this.released.push(event.clientId);
    });
    // A second resource attached later: released first, and must still run
    // whatever the faulty one does.
    this.registry.attach(event.clientId, 'audit', () => {
      this.released.push(`audit:${event.clientId}`);
    });
  }
}

@Module({ providers: [FaultyExtension] })
class FaultyExtensionModule {}

const seen: { clientId: string; step: string; reason: string }[] = [];

/** A user interceptor: it must see the disconnect path, not only messages. */
@Injectable()
class AuditInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const data: unknown = context.switchToWs().getData();
    if (data instanceof LifecycleCall) {
      seen.push({ clientId: data.clientId, step: data.label, reason: data.reason });
    }
    return next.handle();
  }
}

@UseInterceptors(AuditInterceptor)
class AuditedGateway extends LifelineGateway {
  @SubscribeMessage('explode')
  explode(): never {
    throw new Error('handler exploded');
  }
}

describe('cleanup pipeline (the seed scenario)', () => {
  let t: TestApp;

  beforeEach(async () => {
    seen.length = 0;
    t = await startTestApp({ imports: [FaultyExtensionModule], gateway: AuditedGateway });
  });
  afterEach(() => t.close());

  it('contains a disposer that throws, one that rejects and one that hangs; every other step and client carries on', async () => {
    const ua = (mode: string) => ({ headers: { 'user-agent': mode } });
    const thrower = await t.join(ua('throws'));
    const rejecter = await t.join(ua('rejects'));
    const hanger = await t.join(ua('hangs'));
    const healthy: TestClient[] = await Promise.all([t.join(ua('ok')), t.join(ua('ok'))]);
    const extension = t.app.get(FaultyExtension);

    // Three different triggers: close frame, TCP loss, and a clean close.
    await thrower.close();
    rejecter.destroy();
    await hanger.close();

    await waitFor(() => t.pipeline.pending === 0, 'all cleanups finished (the hang times out)', 3000);
    expect(t.registry.size).toBe(2);
    for (const c of healthy) expect(t.registry.has((c as TestClient & { id: string }).id)).toBe(true);

    const failures = t.logs.entries('cleanup step failed');
    expect(failures).toHaveLength(3);
    expect(failures).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ clientId: thrower.id, step: 'release:faulty', error: 'Error: disposer threw' }),
        expect.objectContaining({ clientId: rejecter.id, step: 'release:faulty', error: 'Error: disposer rejected' }),
        expect.objectContaining({
          clientId: hanger.id,
          step: 'release:faulty',
          error: `StepTimeoutError: step did not finish within ${TEST_ENV.CLEANUP_STEP_TIMEOUT_MS} ms`,
        }),
      ]),
    );
    expect(await t.metric('lifeline_cleanup_failures_total', { step: 'release' })).toBe(3);
    expect(await t.metric('lifeline_cleanup_failures_total', { step: 'emit' })).toBe(0);

    // The steps after the failing one ran for every client.
    for (const c of [thrower, rejecter, hanger]) expect(extension.released).toContain(`audit:${c.id}`);
    expect(await t.metric('lifeline_disconnections_total', { reason: 'client_close' })).toBe(2);
    expect(await t.metric('lifeline_disconnections_total', { reason: 'connection_lost' })).toBe(1);

    // The survivors keep their heartbeat; nothing pinged a closed socket.
    const before = healthy.map((c) => c.pings);
    await waitFor(() => healthy.every((c, i) => c.pings >= before[i] + 2), 'healthy clients pinged twice more', 3000);
    expect(await t.metric('lifeline_pings_to_closed_total')).toBe(0);
    expect(t.logs.lines.filter((l) => l.level === 'error' && JSON.stringify(l.message).includes('ping'))).toEqual([]);
  });

  it('runs the cleanup through user interceptors on the gateway, step by step, in order', async () => {
    const client = await t.join({ headers: { 'user-agent': 'ok' } });
    await client.close();
    await waitFor(() => t.pipeline.pending === 0 && !t.registry.has(client.id), 'cleanup finished');
    expect(seen.filter((s) => s.clientId === client.id)).toEqual([
      { clientId: client.id, step: 'release:audit', reason: 'client_close' },
      { clientId: client.id, step: 'release:faulty', reason: 'client_close' },
      // Presence membership, attached first on connect, released last.
      { clientId: client.id, step: 'release:user-presence', reason: 'client_close' },
      // The session link, attached at the welcome (before the extension's), released last.
      { clientId: client.id, step: 'release:session', reason: 'client_close' },
      { clientId: client.id, step: 'emit', reason: 'client_close' },
      { clientId: client.id, step: 'terminate', reason: 'client_close' },
    ]);
  });

  it('answers a throwing message handler with an error frame; the connection and heartbeat survive', async () => {
    const client = await t.join({ headers: { 'user-agent': 'ok' } });
    client.send('explode', {});
    const error = await client.next('error');
    expect(error.data).toEqual({
      code: 'internal_error',
      message: 'the server failed to handle this message',
      event: 'explode',
    });
    expect(t.logs.entries('message handler failed')).toEqual([
      expect.objectContaining({ clientId: client.id, event: 'explode', error: 'Error: handler exploded' }),
    ]);
    client.send('ping', 'still here');
    expect((await client.next('pong')).data).toBe('still here');
    const pings = client.pings;
    await waitFor(() => client.pings >= pings + 2, 'heartbeat continues', 3000);
    expect(t.registry.has(client.id)).toBe(true);
  });
});
