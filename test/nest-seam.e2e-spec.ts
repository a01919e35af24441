import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor, UseInterceptors } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage, type WsResponse } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import type { WebSocket } from 'ws';
import { LifelineGateway } from '../src/lifeline';
import { LifecycleContext } from '../src/lifeline/cleanup/lifecycle-context';
import { GatewayHandlers } from '../src/lifeline/message-handlers';
import { startTestApp, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const disconnects: string[] = [];

/** A user gateway: its own handler reads the socket, and it extends handleDisconnect. */
class WhoGateway extends LifelineGateway {
  @SubscribeMessage('whoami')
  whoami(@ConnectedSocket() socket: WebSocket, @MessageBody() tag: unknown): WsResponse<unknown> {
    return { event: 'you', data: { tag, isOpen: socket.readyState === 1, id: (socket as WebSocket & { tag?: string }).tag } };
  }

  override handleDisconnect(socket: WebSocket): Promise<void> {
    disconnects.push((socket as WebSocket & { tag?: string }).tag ?? '?');
    return super.handleDisconnect(socket);
  }
}

@Injectable()
class Noop implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

@UseInterceptors(Noop)
class InterceptedGateway extends LifelineGateway {}

/** The handlers a server-side socket holds (MessageHandlers keeps them under a symbol). */
const handlersOf = (socket: WebSocket): unknown[] =>
  Object.getOwnPropertySymbols(socket).map((s) => (socket as unknown as Record<symbol, unknown>)[s]);

describe('Nest seam: handlers unbound, one shared close listener', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it("every client reaches its own socket through one shared handler table, and handleDisconnect runs once per client", async () => {
    disconnects.length = 0;
    t = await startTestApp({ gateway: WhoGateway });
    const [a, b] = await Promise.all([t.join(), t.join()]);
    const sa = t.registry.get(a.id)!.socket as WebSocket & { tag?: string };
    const sb = t.registry.get(b.id)!.socket as WebSocket & { tag?: string };
    sa.tag = 'a';
    sb.tag = 'b';
    a.send('whoami', 1);
    b.send('whoami', 2);
    expect((await a.next('you')).data).toEqual({ tag: 1, isOpen: true, id: 'a' });
    expect((await b.next('you')).data).toEqual({ tag: 2, isOpen: true, id: 'b' });
    // No bound copy per client: both point at the same gateway table.
    const ha = handlersOf(sa).find((h) => h instanceof GatewayHandlers);
    expect(ha).toBeInstanceOf(GatewayHandlers);
    expect(handlersOf(sb)).toContain(ha);
    // Nest's per-client closure is gone from 'close': ours (lifecycle) and the shared one.
    expect(sa.listenerCount('close')).toBe(2);

    await a.close();
    b.destroy();
    await waitFor(() => t.registry.size === 0 && t.pipeline.pending === 0, 'both cleaned up');
    expect(disconnects.sort()).toEqual(['a', 'b']);
    expect(await t.metric('lifeline_disconnections_total', { reason: 'client_close' })).toBe(1);
    expect(await t.metric('lifeline_disconnections_total', { reason: 'connection_lost' })).toBe(1);
  });

  it('steps run directly only while nothing but CleanupExceptionInterceptor would wrap them', async () => {
    t = await startTestApp();
    expect(t.app.get(LifecycleContext).stepsRunDirectly).toBe(true);
    await t.close();
    t = await startTestApp({ gateway: InterceptedGateway });
    expect(t.app.get(LifecycleContext).stepsRunDirectly).toBe(false);
    // The chain path still cleans up.
    const c = await t.join();
    await c.close();
    await waitFor(() => t.registry.size === 0 && t.pipeline.pending === 0, 'cleaned up through the chain');
  });
});
