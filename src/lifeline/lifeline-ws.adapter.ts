import type { INestApplicationContext } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { WsAdapter } from '@nestjs/platform-ws';
import type { MessageMappingProperties, OnGatewayDisconnect } from '@nestjs/websockets';
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { filter, type Observable } from 'rxjs';
import { type RawData, WebSocket, type WebSocketServer } from 'ws';
import { ClientRegistryService } from './client-registry.service';
import { CloseCodes, LIFELINE_OPTIONS } from './constants';
import type { Admission, ClientRecord } from './interfaces/client-record.interface';
import type { ResolvedLifelineOptions } from './interfaces/lifeline-options.interface';
import { LifecycleService } from './lifecycle.service';
import { LifelineEvents, type RateLimitedEvent } from './lifeline.events';
import { MessageHandlers, responsesOf } from './message-handlers';
import { installUnboundHandlers, type UnboundHandlerSink, withUnboundHandlers } from './nest-seam/nest-seam';
import { BackpressureService } from './limits/backpressure.service';
import { FrameSlices } from './limits/frame-slices';
import { takeToken } from './limits/rate-limit';
import { endTurn, type FrameQueueLimits, inTurn, takeTurn } from './permissions/frame-order';
import { errorFrame, parseFrame, ProtocolError } from './protocol';
import { adoptSharedReadBuffer, NODE_SEAM_PIN, sharedReadBufferAvailable } from './node-seam/shared-read-buffer';
import { setAdmission } from './upgrade/admission';
import { closeWithRefusal, wantsCloseRefusal } from './upgrade/refusal-close';
import { requestPathname } from './upgrade/request-path';
import { isRefusal, type Refusal, UpgradeGate } from './upgrade/upgrade-gate.service';

type PathServer = WebSocketServer & { path: string };

/**
 * Nest's WsAdapter, made to answer instead of going silent, and to guard the
 * door:
 * - gateways without an explicit path are mounted at the configured WS_PATH;
 * - every upgrade passes the UpgradeGate first (capacity, origin, auth,
 *   guards); a refusal is an HTTP status with a JSON message, and an unknown
 *   path gets 404 (the stock adapter drops the TCP connection unanswered);
 * - a TCP connection that has not completed its upgrade in time is dropped;
 * - frames: over the payload limit → 1009 and invalid UTF-8 → 1007 (by ws),
 *   binary → 1003 unless allowed, over the rate limit → an error frame, and
 *   1008 when the client keeps flooding; malformed JSON, a wrong shape or an
 *   unknown event → an error frame, connection kept;
 * - one 'message' listener shared by all clients instead of an rxjs
 *   pipeline per client; through the Nest seam, a client keeps one pointer
 *   to its gateway's handlers instead of a bound copy of each, and one
 *   shared 'close' listener instead of Nest's closure (MessageHandlers),
 *   which keeps the per-connection footprint small;
 * - an upgraded socket reads into one buffer shared by all (the Node seam),
 *   so a pong leaves no 64 KB allocation behind for V8 to sweep.
 */
export class LifelineWsAdapter extends WsAdapter {
  private readonly options: ResolvedLifelineOptions;
  private readonly gate: UpgradeGate;
  private readonly registry: ClientRegistryService;
  private readonly lifecycle: LifecycleService;
  private readonly events: EventEmitter2;
  private readonly backpressure: BackpressureService;
  /** TCP connections that have not completed a request yet, with their deadline. */
  private readonly pendingHandshakes = new Map<Socket, number>();
  /** Kept-alive HTTP connections between requests: deadline, and bytes read when the last response ended. */
  private readonly keptAlive = new Map<Socket, { deadline: number; bytesRead: number }>();
  private handshakeTimer: NodeJS.Timeout | undefined;
  private readonly handlers = new MessageHandlers();
  /** Frames share the event loop in slices: a storm of them cannot hold timers for seconds. */
  private readonly slices = new FrameSlices<WebSocket, RawData>(
    (client, raw) => {
      const record = this.lifecycle.clientOf(client);
      if (record) this.handle(record, client, raw); // else: gone while it waited
    },
    (err) => this.logger.error(err),
  );
  /** What may wait behind a client's frame in flight: a rate-limit burst, and 4 frames' worth of bytes. */
  private get frameQueueLimits(): FrameQueueLimits {
    return (this.queueLimits ??= { frames: this.options.rateLimit.burst, bytes: 4 * this.options.maxPayloadBytes });
  }
  private queueLimits: FrameQueueLimits | undefined;
  /** One listener shared by all sockets: the socket is `this`, no closure per client. */
  private readonly onMessage: (this: WebSocket, data: RawData, isBinary: boolean) => void;
  /** Shared 'close' listener of clients whose handlers came unbound: calls their gateway's handleDisconnect. */
  private readonly onClose: (this: WebSocket) => void;
  /** Takes a gateway's handlers unbound (the Nest seam); undefined where the seam is not in place. */
  private readonly unboundSink: UnboundHandlerSink | undefined;

  constructor(app: INestApplicationContext) {
    super(app);
    this.options = app.get<ResolvedLifelineOptions>(LIFELINE_OPTIONS, { strict: false });
    this.gate = app.get(UpgradeGate, { strict: false });
    this.registry = app.get(ClientRegistryService, { strict: false });
    this.lifecycle = app.get(LifecycleService, { strict: false });
    this.events = app.get(EventEmitter2, { strict: false });
    this.backpressure = app.get(BackpressureService, { strict: false });
    const dispatch = (client: WebSocket, data: RawData, isBinary: boolean) => this.dispatch(client, data, isBinary);
    this.onMessage = function (this: WebSocket, data: RawData, isBinary: boolean) {
      dispatch(this, data, isBinary);
    };
    const handlers = this.handlers;
    const logger = this.logger;
    this.onClose = function (this: WebSocket) {
      const gateway = handlers.gatewayOf(this) as Partial<OnGatewayDisconnect> | undefined;
      try {
        void gateway?.handleDisconnect?.(this);
      } catch (err) {
        logger.error(err);
      }
    };
    if (installUnboundHandlers()) {
      this.unboundSink = (client, list, instance) => {
        this.handlers.attachUnbound(client as WebSocket, list, instance);
        (client as WebSocket).on('message', this.onMessage);
        return true;
      };
    } else {
      this.logger.warn(
        'Nest seam not in place (Nest outside the pinned minor): message handlers are bound per client, as Nest does',
      );
    }
    if (this.options.sharedReadBuffer && !sharedReadBufferAvailable()) {
      this.logger.warn(
        `Node seam not in place (Node ${process.versions.node}, pinned to ${NODE_SEAM_PIN}): sockets keep Node's own reads, a 64 KB allocation each`,
      );
    }
  }

  /**
   * Nest's connection handler, run so that the seam hands this adapter each
   * gateway's handlers unbound instead of binding them to every client.
   */
  override bindClientConnect(server: WebSocketServer, callback: (...args: unknown[]) => void): void {
    const sink = this.unboundSink;
    if (!sink) return super.bindClientConnect(server, callback);
    server.on('connection', (client: WebSocket, request: http.IncomingMessage) =>
      withUnboundHandlers(sink, () => callback(client, request)),
    );
  }

  /**
   * Nest's disconnect hook is a closure per client (`() => disconnect.next(client)`)
   * feeding a Subject that calls the gateway's handleDisconnect. A client whose
   * handlers came unbound gets the shared listener instead, which calls it directly.
   */
  override bindClientDisconnect(client: WebSocket, callback: () => void): void {
    if (this.handlers.gatewayOf(client)) client.on('close', this.onClose);
    else super.bindClientDisconnect(client, callback);
  }

  override create(port: number, options?: Record<string, unknown> & { path?: string }): WebSocketServer {
    return super.create(port, {
      ...options,
      path: options?.path ?? this.options.path,
      maxPayload: this.options.maxPayloadBytes,
      // The registry is the one list of clients. ws's own Set would cost every
      // connection an entry and a 'close' closure, for nothing.
      clientTracking: false,
      // HeartbeatService answers protocol pings itself, against the client's
      // rate limit: ws would answer every one (100k pongs/s to one client).
      autoPong: false,
    }) as WebSocketServer;
  }

  /**
   * Stock close() terminates the clients in ws's Set, which clientTracking:
   * false leaves out. LifecycleService has already closed and cleaned every
   * registered client by now (beforeApplicationShutdown); whoever is left is
   * terminated here.
   */
  override async close(server: WebSocketServer): Promise<void> {
    const closed = new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    for (const record of this.registry.values()) record.socket.terminate();
    await closed;
  }

  /**
   * Nest's per-client transform is not kept: responsesOf() does the same
   * without a closure per client.
   */
  override bindMessageHandlers(client: WebSocket, handlers: MessageMappingProperties[]): void {
    this.handlers.attach(client, handlers);
    client.on('message', this.onMessage);
  }

  /**
   * The stock handler logs every client socket error at error level, so a
   * client sending bad frames could flood the log. Those errors end the
   * connection and are reported as its disconnect reason; only errors of the
   * server itself are logged here.
   */
  override bindErrorHandler(server: WebSocketServer): WebSocketServer {
    server.on('error', (err: Error) => this.logger.error(err));
    return server;
  }

  protected override ensureHttpServerExists(
    port: number,
    httpServer: http.Server = http.createServer(),
  ): http.Server | undefined {
    if (this.httpServersRegistry.has(port)) return undefined;
    this.httpServersRegistry.set(port, httpServer);
    this.watchHandshakes(httpServer);
    httpServer.on('upgrade', (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      this.routeUpgrade(port, request, socket, head);
    });
    return httpServer;
  }

  /**
   * Drops TCP connections that have not completed a request within
   * HANDSHAKE_TIMEOUT_MS. One shared timer over a map of pending sockets,
   * rather than socket.setTimeout: a socket keeps its (cleared) Timeout and
   * bound callback for life, which every WebSocket would then carry.
   */
  private watchHandshakes(httpServer: http.Server): void {
    const timeoutMs = this.options.handshakeTimeoutMs;
    httpServer.on('connection', (socket: Socket) => this.pendingHandshakes.set(socket, performance.now() + timeoutMs));
    // A plain HTTP request is not a handshake; Node's own timeouts govern it
    // while it runs. Once answered, a kept-alive connection waits for its
    // next request, which may be an upgrade dribbled byte by byte: it gets
    // the handshake deadline again (an idle one is left to keepAliveTimeout).
    httpServer.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      this.pendingHandshakes.delete(request.socket);
      // A complete request on a kept-alive connection is not a dribbled one,
      // however long its answer takes (a status feed streams for hours).
      this.keptAlive.delete(request.socket);
      response.once('finish', () => {
        const { socket } = request;
        if (!socket.destroyed) this.keptAlive.set(socket, { deadline: performance.now() + timeoutMs, bytesRead: socket.bytesRead });
      });
    });
    this.handshakeTimer ??= setInterval(() => this.dropStaleHandshakes(), Math.max(20, Math.floor(timeoutMs / 4)));
    this.handshakeTimer.unref();
  }

  private dropStaleHandshakes(now = performance.now()): void {
    for (const [socket, deadline] of this.pendingHandshakes) {
      if (socket.destroyed) {
        this.pendingHandshakes.delete(socket);
      } else if (now >= deadline) {
        this.pendingHandshakes.delete(socket);
        this.gate.handshakeTimedOut(socket.remoteAddress);
        socket.destroy();
      }
    }
    for (const [socket, { deadline, bytesRead }] of this.keptAlive) {
      if (socket.destroyed) {
        this.keptAlive.delete(socket);
      } else if (now >= deadline) {
        this.keptAlive.delete(socket);
        // Bytes since the last response, and no complete request: a dribbled one.
        if (socket.bytesRead > bytesRead) {
          this.gate.handshakeTimedOut(socket.remoteAddress);
          socket.destroy();
        }
      }
    }
  }

  override async dispose(): Promise<void> {
    if (this.handshakeTimer) clearInterval(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.pendingHandshakes.clear();
    this.keptAlive.clear();
    await super.dispose();
  }

  private routeUpgrade(port: number, request: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    // The upgrade request is complete: from here on the gate decides, promptly.
    this.pendingHandshakes.delete(request.socket);
    this.keptAlive.delete(request.socket);
    // Errors on a socket we may be refusing must not become unhandled events.
    // A module-level function: a closure here would share this function's
    // context and keep `request` (headers and all) alive for the socket's life.
    socket.on('error', ignoreError);
    let pathname: string;
    try {
      pathname = requestPathname(request.url);
    } catch {
      return writeRefusal(socket, this.gate.refuse(request, 400, 'bad_request', 'malformed request target'), request, head);
    }
    const servers = (this.wsServersRegistry.get(port) ?? []) as PathServer[];
    const server = servers.find((s) => s.path === pathname);
    if (!server) {
      // During shutdown the endpoints are already gone: that is "come back later", not "no such endpoint".
      const refusal = this.lifecycle.accepting
        ? this.gate.refuse(request, 404, 'not_found', `no WebSocket endpoint at ${pathname}`)
        : this.gate.refuse(request, 503, 'shutting_down', 'server shutting down', { 'Retry-After': '5' });
      return writeRefusal(socket, refusal, request, head);
    }
    const decision = this.gate.admit(request);
    // A promise only when a connection guard runs.
    if (decision instanceof Promise) {
      void decision.then((settled) => this.upgrade(server, request, socket, head, settled));
      return;
    }
    this.upgrade(server, request, socket, head, decision);
  }

  private upgrade(
    server: WebSocketServer,
    request: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    decision: Admission | Refusal,
  ): void {
    if (isRefusal(decision)) return writeRefusal(socket, decision, request, head);
    try {
      if (socket.destroyed) return;
      setAdmission(request, decision);
      // Corked, the 101 response and the welcome frame (sent synchronously by
      // the gateway, inside handleUpgrade) leave in one write: one syscall.
      socket.cork();
      try {
        server.handleUpgrade(request, socket, head, (ws) => server.emit('connection', ws, request));
        // Only now: ws listens for 'data' from here on, and a refused socket never gets this far.
        if (this.options.sharedReadBuffer) adoptSharedReadBuffer(socket);
      } finally {
        socket.uncork();
      }
      // ws has its own error handling on the socket now.
      socket.removeListener('error', ignoreError);
    } finally {
      // Registration happened synchronously inside handleUpgrade, or not at all.
      this.gate.settled();
    }
  }

  /** Replies go through the one send path, so a client that never reads cannot pile them up. */
  private reply(record: ClientRecord, message: unknown): void {
    this.backpressure.send(record, JSON.stringify(message));
  }

  private dispatch(client: WebSocket, raw: RawData, isBinary: boolean, queued = false): void {
    const record = this.lifecycle.clientOf(client);
    if (!record) return; // on its way out
    if (isBinary && !this.options.allowBinary) {
      void this.lifecycle.disconnect(record, 'unsupported_data', CloseCodes.unsupportedData, 'binary frames are not accepted');
      return;
    }
    // A queued frame (see FrameOrder below) was rate-counted when it arrived.
    const now = performance.now();
    const rate = queued ? 'ok' : takeToken(record, this.options.rateLimit, now);
    if (rate !== 'ok') {
      const event: RateLimitedEvent = { clientId: record.id };
      this.events.emit(LifelineEvents.rateLimited, event);
      if (rate === 'flooding') {
        void this.lifecycle.disconnect(record, 'rate_limited', CloseCodes.policyViolation, 'rate_limited');
      } else {
        this.reply(record, errorFrame('rate_limited', 'too many messages; slow down'));
      }
      return;
    }
    // One frame of a client at a time, in order (see permissions/frame-order.ts).
    const turn = queued ? 'now' : takeTurn(record, raw, isBinary, this.frameQueueLimits);
    if (turn === 'queued') return;
    if (turn === 'full') {
      this.events.emit(LifelineEvents.rateLimited, { clientId: record.id } satisfies RateLimitedEvent);
      return this.reply(record, errorFrame('rate_limited', 'too many messages waiting for an earlier one; slow down'));
    }
    // Over this turn's slice: it runs in a later turn, still this client's frame in flight.
    if (this.slices.admit(client, raw, now)) this.handle(record, client, raw);
  }

  /** Runs a frame whose turn it is: parse, find its handler, send what it answers. */
  private handle(record: ClientRecord, client: WebSocket, raw: RawData): void {
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      const next = endTurn(record);
      if (next) this.dispatch(client, next.raw, next.isBinary, true);
    };

    let event: string;
    let result: Observable<unknown>;
    try {
      const frame = parseFrame(textOf(raw));
      event = frame.event;
      const callback = this.handlers.find(client, frame.event);
      if (!callback) throw new ProtocolError(`unknown event "${frame.event}"`, frame.event);
      result = responsesOf(callback(frame.data, frame.event)).pipe(inTurn(done));
    } catch (err) {
      queueMicrotask(done); // after the error frame below
      const e = err instanceof ProtocolError ? err : new ProtocolError('unreadable frame');
      return this.reply(record, errorFrame(e.code, e.message, e.event));
    }
    result.pipe(filter((response) => response !== undefined && response !== null)).subscribe({
      next: (response) => this.reply(record, response),
      // The interceptor turns handler errors into frames; this is the backstop.
      error: () => this.reply(record, errorFrame('internal_error', 'the server failed to handle this message', event)),
    });
  }
}

function ignoreError(): void {
  // Deliberately empty: see routeUpgrade.
}

function textOf(raw: RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw).toString('utf8');
}


function writeRefusal(socket: Duplex, refusal: Refusal, request: http.IncomingMessage, head: Buffer): void {
  if (socket.destroyed) return;
  // Browsers cannot read an HTTP refusal; clients that ask get a close code (4401, 4403, 4503, …).
  if (wantsCloseRefusal(request)) return closeWithRefusal(request, socket, head, refusal);
  const body = JSON.stringify({ statusCode: refusal.status, message: refusal.message });
  const headers = Object.entries(refusal.headers ?? {})
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${refusal.status} ${http.STATUS_CODES[refusal.status] ?? ''}\r\n` +
      `Connection: close\r\nContent-Type: application/json\r\n${headers}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
