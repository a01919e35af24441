import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { MessageMappingProperties } from '@nestjs/websockets';
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { filter, type Observable } from 'rxjs';
import { type RawData, WebSocket, type WebSocketServer } from 'ws';
import { LIFELINE_OPTIONS } from './constants';
import type { ResolvedLifelineOptions } from './interfaces/lifeline-options.interface';
import { errorFrame, parseFrame, ProtocolError } from './protocol';

type PathServer = WebSocketServer & { path: string };

/**
 * Nest's WsAdapter, made to answer instead of going silent:
 * - mounts gateways without an explicit path at the configured WS_PATH;
 * - an upgrade to an unknown path gets HTTP 404 (the stock adapter drops the
 *   TCP connection with no answer);
 * - malformed JSON, a frame that is not `{event, data}` or an unknown event
 *   gets an `error` frame (the stock adapter ignores them) and the connection
 *   stays open;
 * - one plain 'message' listener per client instead of an rxjs pipeline,
 *   which keeps the per-connection footprint small.
 */
export class LifelineWsAdapter extends WsAdapter {
  private readonly path: string;

  constructor(app: INestApplicationContext) {
    super(app);
    this.path = app.get<ResolvedLifelineOptions>(LIFELINE_OPTIONS, { strict: false }).path;
  }

  override create(port: number, options?: Record<string, unknown> & { path?: string }): WebSocketServer {
    return super.create(port, { ...options, path: options?.path ?? this.path }) as WebSocketServer;
  }

  override bindMessageHandlers(
    client: WebSocket,
    handlers: MessageMappingProperties[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    client.on('message', (data: RawData) => this.dispatch(client, data, handlers, transform));
  }

  protected override ensureHttpServerExists(
    port: number,
    httpServer: http.Server = http.createServer(),
  ): http.Server | undefined {
    if (this.httpServersRegistry.has(port)) return undefined;
    this.httpServersRegistry.set(port, httpServer);
    httpServer.on('upgrade', (request: http.IncomingMessage, socket: Duplex, head: Buffer) =>
      this.routeUpgrade(port, request, socket, head),
    );
    return httpServer;
  }

  private routeUpgrade(port: number, request: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    let pathname: string;
    try {
      // A fixed base: the Host header is client input and may not parse.
      pathname = new URL(request.url ?? '/', 'ws://localhost').pathname;
    } catch {
      return rejectUpgrade(socket, 400, 'malformed request target');
    }
    const servers = (this.wsServersRegistry.get(port) ?? []) as PathServer[];
    const server = servers.find((s) => s.path === pathname);
    if (!server) return rejectUpgrade(socket, 404, `no WebSocket endpoint at ${pathname}`);
    server.handleUpgrade(request, socket, head, (ws) => server.emit('connection', ws, request));
  }

  private dispatch(
    client: WebSocket,
    raw: RawData,
    handlers: MessageMappingProperties[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    let event: string;
    let result: Observable<unknown>;
    try {
      const frame = parseFrame(textOf(raw));
      event = frame.event;
      const handler = handlers.find((h) => h.message === frame.event);
      if (!handler) throw new ProtocolError(`unknown event "${frame.event}"`, frame.event);
      result = transform(handler.callback(frame.data, frame.event));
    } catch (err) {
      const e = err instanceof ProtocolError ? err : new ProtocolError('unreadable frame');
      return send(client, errorFrame('bad_request', e.message, e.event));
    }
    result.pipe(filter((response) => response !== undefined && response !== null)).subscribe({
      next: (response) => send(client, response),
      // The interceptor turns handler errors into frames; this is the backstop.
      error: () => send(client, errorFrame('internal_error', 'the server failed to handle this message', event)),
    });
  }
}

function textOf(raw: RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw).toString('utf8');
}

function send(client: WebSocket, message: unknown): void {
  if (client.readyState === WebSocket.OPEN) client.send(JSON.stringify(message));
}

function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ statusCode: status, message });
  socket.on('error', () => undefined);
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n` +
      'Connection: close\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
