import { HttpException, Inject, Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { IncomingMessage } from 'node:http';
import { LifecycleContext } from '../cleanup/lifecycle-context';
import { ClientRegistryService } from '../client-registry.service';
import { LIFELINE_OPTIONS } from '../constants';
import type { Admission } from '../interfaces/client-record.interface';
import type { ResolvedLifelineOptions } from '../interfaces/lifeline-options.interface';
import { LifecycleService } from '../lifecycle.service';
import { LifelineEvents, type RejectionReason, type UpgradeRejectedEvent } from '../lifeline.events';
import { isLogEnabled } from '../log-level';
import { authenticate, tokenDigests } from './credentials';
import { LifelineLogger } from '../log-entry';

export interface Refusal {
  status: number;
  reason: RejectionReason;
  message: string;
  headers?: Record<string, string>;
}

/** Seconds a refused client should wait before retrying (capacity, shutdown). */
const RETRY_AFTER_S = '5';

/**
 * Decides, before the upgrade, whether a request may become a client:
 * authentication → 401 (first: a bad token is 401 whatever else is wrong),
 * shutdown → 503, capacity → 503 + Retry-After, an Origin that is present
 * and not allowed → 403 (a missing one only with requireOrigin), the
 * gateway's guards → 403 (or their HttpException).
 * A refused request never reaches the gateway or the registry, and is logged
 * below error level: refusals are expected traffic, not faults.
 */
@Injectable()
export class UpgradeGate {
  private readonly logger = new LifelineLogger('Lifeline');
  private readonly digests: Buffer[];
  /** Upgrades admitted or being checked but not registered yet; they count against capacity. */
  private pending = 0;

  constructor(
    @Inject(LIFELINE_OPTIONS) private readonly options: ResolvedLifelineOptions,
    private readonly registry: ClientRegistryService,
    private readonly lifecycle: LifecycleService,
    private readonly context: LifecycleContext,
    private readonly events: EventEmitter2,
  ) {
    this.digests = options.auth.mode === 'token' ? tokenDigests(options.auth.tokens) : [];
  }

  /**
   * The gate's decision without the guards, and without recording anything:
   * a refusal `{status, reason, message, headers?}`, or who the client is.
   * In order: authentication (401: a missing or bad token is 401 whatever
   * else is wrong), shutdown (503), capacity (503 + Retry-After), origin
   * (403). Reusable by any path that must refuse in another form (e.g. a
   * close code after accepting).
   */
  check(request: IncomingMessage): Refusal | Admission {
    const auth = authenticate(request, this.options.auth, this.digests);
    if (!auth.ok) return refusal(401, 'unauthorized', auth.message);
    if (!this.lifecycle.accepting) {
      return refusal(503, 'shutting_down', 'server shutting down', { 'Retry-After': RETRY_AFTER_S });
    }
    if (this.registry.size + this.pending >= this.options.maxClients) {
      return refusal(503, 'capacity', `server at capacity (${this.options.maxClients} clients)`, {
        'Retry-After': RETRY_AFTER_S,
      });
    }
    const origin = originRefusal(request.headers.origin, this.options.allowedOrigins, this.options.requireOrigin);
    if (origin) return origin;
    return { userId: auth.userId, topicClaims: auth.topicClaims, expiresAt: auth.expiresAt };
  }

  /**
   * Checks a request (check(), then the gateway's guards) and records a
   * refusal. On admission the caller must call `settled()` once the upgrade
   * finished or failed, so the capacity count stays exact. Answers
   * synchronously unless a connection guard has to run (no promise per
   * upgrade for the common case).
   */
  admit(request: IncomingMessage): Admission | Refusal | Promise<Admission | Refusal> {
    const checked = this.check(request);
    if (isRefusal(checked)) return this.record(request, checked);
    const auth = checked;

    this.pending++;
    let guarded: Promise<unknown> | undefined;
    try {
      guarded = this.context.guardConnection(request, auth.userId);
    } catch (err) {
      this.pending--;
      return this.guardRefusal(request, err);
    }
    if (guarded === undefined) return auth;
    return guarded.then(
      () => auth,
      (err: unknown) => {
        this.pending--;
        return this.guardRefusal(request, err);
      },
    );
  }

  private guardRefusal(request: IncomingMessage, err: unknown): Refusal {
    if (err instanceof HttpException) {
      return this.refuse(request, err.getStatus(), 'forbidden', httpMessage(err));
    }
    this.logger.error({ msg: 'connection guard failed', error: err instanceof Error ? err.message : String(err) });
    return this.refuse(request, 500, 'forbidden', 'connection check failed');
  }

  /** The admitted upgrade has completed (or failed); it no longer counts as pending. */
  settled(): void {
    this.pending--;
  }

  /** A connection was dropped for not completing its upgrade in time. */
  handshakeTimedOut(remoteAddress: string | undefined): void {
    const event: UpgradeRejectedEvent = { reason: 'handshake_timeout', status: 0, remoteAddress };
    this.logger.log({ msg: 'handshake timed out', reason: event.reason, remoteAddress });
    this.events.emit(LifelineEvents.upgradeRejected, event);
  }

  /** Records a refusal decided elsewhere (unknown path, malformed request). */
  refuse(
    request: IncomingMessage,
    status: number,
    reason: RejectionReason,
    message: string,
    headers?: Record<string, string>,
  ): Refusal {
    return this.record(request, refusal(status, reason, message, headers));
  }

  /** Logs and emits a refusal (lifeline_rejections_total); returns it. */
  record(request: IncomingMessage, refused: Refusal): Refusal {
    const { status, reason, message } = refused;
    const event: UpgradeRejectedEvent = { reason, status, remoteAddress: request.socket.remoteAddress };
    // Refusals come in floods (capacity, bad tokens): skip the line when it is off.
    if (isLogEnabled(this.logger, 'log')) {
      this.logger.log({ msg: 'upgrade refused', reason, status, remoteAddress: event.remoteAddress, message });
    }
    this.events.emit(LifelineEvents.upgradeRejected, event);
    return refused;
  }
}

export function isRefusal(value: Admission | Refusal): value is Refusal {
  return 'status' in value;
}

function refusal(status: number, reason: RejectionReason, message: string, headers?: Record<string, string>): Refusal {
  return { status, reason, message, ...(headers && { headers }) };
}

/**
 * The origin rule (as gorilla/websocket and NATS have it): a request that
 * carries an Origin must carry an allowed one; a request without one (a
 * native app, a server: only browsers send it, and they always do) goes on
 * to authentication, unless `requireOrigin`. No allowlist: any origin.
 */
export function originRefusal(origin: string | undefined, allowed: readonly string[], required: boolean): Refusal | undefined {
  if (origin === undefined) {
    return required ? refusal(403, 'forbidden_origin', 'an Origin header is required') : undefined;
  }
  if (allowed.length > 0 && !allowed.includes(origin)) return refusal(403, 'forbidden_origin', 'origin not allowed');
  return undefined;
}

function httpMessage(err: HttpException): string {
  const response = err.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  return typeof message === 'string' ? message : err.message;
}
