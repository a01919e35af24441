import { type BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { CleanupPipeline } from './cleanup/cleanup.pipeline';
import { ClientRegistryService } from './client-registry.service';
import { CloseCodes, LIFELINE_OPTIONS, SHUTDOWN_CLOSE_REASON } from './constants';
import { HeartbeatService } from './heartbeat.service';
import type { ClientRecord } from './interfaces/client-record.interface';
import type { DisconnectReason } from './interfaces/disconnect-reason';
import type { ResolvedLifelineOptions } from './interfaces/lifeline-options.interface';
import { type ClientConnectedEvent, LifelineEvents } from './lifeline.events';
import { BackpressureService } from './limits/backpressure.service';
import { isLogEnabled } from './log-level';
import { LifelineLogger } from './log-entry';
import { SessionsService } from './sessions/sessions.service';

/** ws reports 1006 when the connection ended without a close frame. */
const ABNORMAL_CLOSURE = 1006;

/** ws error codes for frames the protocol refuses; ws has already sent the close code. */
const SOCKET_ERROR_REASONS: Partial<Record<string, DisconnectReason>> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 'payload_too_large', // 1009
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: 'payload_too_large', // 1009: a length over 2^53 - 1
  WS_ERR_INVALID_UTF8: 'invalid_utf8', // 1007
  WS_ERR_TOO_MANY_BUFFERED_PARTS: 'too_many_fragments', // 1008
  WS_ERR_INVALID_OPCODE: 'protocol_error', // 1002
  WS_ERR_EXPECTED_FIN: 'protocol_error',
  WS_ERR_EXPECTED_MASK: 'protocol_error',
  WS_ERR_UNEXPECTED_MASK: 'protocol_error',
  WS_ERR_UNEXPECTED_RSV_1: 'protocol_error',
  WS_ERR_UNEXPECTED_RSV_2_3: 'protocol_error',
  WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH: 'protocol_error',
  WS_ERR_INVALID_CLOSE_CODE: 'protocol_error',
};

/**
 * What happens when a socket arrives and when it goes. The gateway calls
 * open() and close(); everything else about a client's life is here, in the
 * registry, the heartbeat and the cleanup pipeline.
 */
@Injectable()
export class LifecycleService implements BeforeApplicationShutdown {
  private readonly logger = new LifelineLogger('Lifeline');
  private shuttingDown = false;
  /** The welcome frame's heartbeat settings, as JSON. */
  private readonly heartbeatJson: string;

  /** Shared listeners: the socket is `this`, so no closure per client. */
  private readonly onSocketClose: (this: WebSocket, code: number) => void;
  private readonly onSocketError: (this: WebSocket, err: Error & { code?: string }) => void;

  constructor(
    @Inject(LIFELINE_OPTIONS) private readonly options: ResolvedLifelineOptions,
    private readonly registry: ClientRegistryService,
    private readonly heartbeat: HeartbeatService,
    private readonly cleanup: CleanupPipeline,
    private readonly events: EventEmitter2,
    private readonly sessions: SessionsService,
    private readonly backpressure: BackpressureService,
  ) {
    this.heartbeatJson = JSON.stringify({ intervalMs: options.heartbeatIntervalMs, timeoutMs: options.heartbeatTimeoutMs });
    const clients = registry;
    this.onSocketClose = function (this: WebSocket, code: number) {
      const record = clients.fromSocket(this);
      if (record) record.closeCode = code;
    };
    const socketFailed = (record: ClientRecord) => void this.cleanup.run(record, this.reasonFor(record));
    this.onSocketError = function (this: WebSocket, err: Error & { code?: string }) {
      const record = clients.fromSocket(this);
      if (!record || record.errorCode !== undefined) return;
      record.errorCode = err.code ?? 'unknown';
      // ws has sent its close code (1002, 1007, 1008, 1009) and waits for the
      // peer's answer: the cleanup starts now, with the reason the error
      // names, not later as whatever the sweep finds (a CLOSING socket would
      // be reaped as stale_socket). Its terminate step waits for the answer.
      socketFailed(record);
    };
  }

  /**
   * The welcome frame, `{"event":"welcome","data":{"clientId":…,"heartbeat":{…}}}`.
   * Only the id varies: the heartbeat part is serialised once, not per connection.
   */
  private welcome(clientId: string, session: string | undefined): string {
    const sessionPart = session === undefined ? '' : `,"session":${session}`;
    return `{"event":"welcome","data":{"clientId":${JSON.stringify(clientId)},"heartbeat":${this.heartbeatJson}${sessionPart}}}`;
  }

  /** False once shutdown has begun: readiness reports it, upgrades should stop. */
  get accepting(): boolean {
    return !this.shuttingDown;
  }

  open(socket: WebSocket, request: IncomingMessage | undefined): ClientRecord | undefined {
    if (this.shuttingDown) {
      socket.close(CloseCodes.goingAway, SHUTDOWN_CLOSE_REASON);
      return undefined;
    }
    const record = this.registry.register(socket, request);
    try {
      // Registered before Nest's own close listener, so the code is known
      // by the time handleDisconnect runs.
      socket.on('close', this.onSocketClose);
      socket.on('error', this.onSocketError);
      this.heartbeat.track(record);
      // The one send path, like every other frame (slow-consumer limits). The session is a
      // per-client resource: released by the cleanup pipeline, which starts its TTL.
      this.backpressure.send(record, this.welcome(record.id, this.sessions.open(record)));
      const event: ClientConnectedEvent = {
        clientId: record.id,
        remoteAddress: record.remoteAddress,
        userAgent: record.userAgent,
        connectedAt: record.connectedAt,
      };
      if (isLogEnabled(this.logger, 'log')) {
        this.logger.log({ msg: 'client connected', clientId: record.id, remoteAddress: record.remoteAddress });
      }
      this.events.emit(LifelineEvents.connected, event);
      return record;
    } catch (err) {
      this.logger.error({
        msg: 'connection setup failed',
        clientId: record.id,
        error: err instanceof Error ? err.message : String(err),
      });
      void this.cleanup.run(record, 'socket_error');
      return undefined;
    }
  }

  /** The socket closed: run the cleanup (a no-op if one already ran). */
  close(socket: WebSocket): Promise<void> {
    const record = this.registry.fromSocket(socket);
    if (!record) return Promise.resolve();
    return this.cleanup.run(record, this.reasonFor(record));
  }

  /**
   * Ends a live client on the server's initiative: a close frame with `code`
   * and `message` (the pipeline waits briefly for the handshake, then
   * terminates), and the cleanup with `reason`.
   */
  disconnect(record: ClientRecord, reason: DisconnectReason, code: number, message: string): Promise<void> {
    if (record.socket.readyState === WebSocket.OPEN) record.socket.close(code, message);
    return this.cleanup.run(record, reason);
  }

  /** The live client behind a socket, if it is still registered. */
  clientOf(socket: WebSocket): ClientRecord | undefined {
    const record = this.registry.fromSocket(socket);
    return record && this.registry.has(record.id) ? record : undefined;
  }

  /**
   * Runs before Nest's WsAdapter terminates every socket: close each client
   * with 1001, let their cleanups run, terminate whoever has not answered
   * within the grace period, and wait for every cleanup to finish.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    // No sweep may mistake a socket in its closing handshake for a stale one.
    this.heartbeat.stop();
    for (const record of this.registry.values()) {
      if (record.socket.readyState === WebSocket.OPEN) {
        record.socket.close(CloseCodes.goingAway, SHUTDOWN_CLOSE_REASON);
      }
    }
    const graceOver = sleep(this.options.shutdownGraceMs, 'timeout' as const, { ref: false });
    const settled = this.waitForEmptyRegistry();
    if ((await Promise.race([settled, graceOver])) === 'timeout') {
      this.logger.warn({ msg: 'shutdown grace period over; terminating', clients: this.registry.size });
      for (const record of this.registry.values()) void this.cleanup.run(record, 'server_shutdown');
    }
    await this.cleanup.drain();
  }

  private async waitForEmptyRegistry(): Promise<'done'> {
    while (this.registry.size > 0) await sleep(10);
    return 'done';
  }

  private reasonFor(record: ClientRecord): DisconnectReason {
    if (this.shuttingDown) return 'server_shutdown';
    if (record.errorCode !== undefined) return SOCKET_ERROR_REASONS[record.errorCode] ?? 'socket_error';
    return record.closeCode === ABNORMAL_CLOSURE ? 'connection_lost' : 'client_close';
  }
}
