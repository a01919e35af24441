import { Inject, Injectable, type OnApplicationBootstrap, Optional } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { LIFELINE_OPTIONS } from '../constants';
import type { ClientRecord } from '../interfaces/client-record.interface';
import type { ResolvedLifelineOptions } from '../interfaces/lifeline-options.interface';
import { LifelineEvents, type TopicRefusalSource, type TopicRefusedEvent } from '../lifeline.events';
import { isLogEnabled } from '../log-level';
import { TOPIC_POLICY } from './constants';
import type { TopicAction, TopicPolicy } from './interfaces/topic-policy.interface';
import { claimsAllow } from './topic-claims';
import { LifelineLogger } from '../log-entry';

/** A decision and who made it. The few possible values are shared constants: no allocation per frame. */
export interface TopicVerdict {
  readonly allowed: boolean;
  readonly by: TopicRefusalSource;
}

const verdict = (allowed: boolean, by: TopicRefusalSource): TopicVerdict => Object.freeze({ allowed, by });
const ALLOWED_BY_CLAIMS = verdict(true, 'claims');
const REFUSED_BY_CLAIMS = verdict(false, 'claims');
const ALLOWED_BY_POLICY = verdict(true, 'policy');
const REFUSED_BY_POLICY = verdict(false, 'policy');
const ALLOWED_BY_DEFAULT = verdict(true, 'default');
const REFUSED_BY_DEFAULT = verdict(false, 'default');
const REFUSED_BY_ERROR = verdict(false, 'policy_error');
const REFUSED_BY_TIMEOUT = verdict(false, 'policy_timeout');

const TIMED_OUT = Symbol('timed out');

/**
 * Who may subscribe and publish to what. For each request, in order:
 *   1. the token's `topics` claim, when it has one: the whole truth;
 *   2. the app's TopicPolicy (`true`/`false`; `undefined` passes);
 *   3. the default, `TOPIC_POLICY` (`open` or `closed`).
 * Synchronous when the claims or the default decide (no promise per frame);
 * a promise only when an async TopicPolicy is asked. A policy that throws,
 * rejects, answers something else than a boolean or undefined, or does not
 * answer within `topicPolicyTimeoutMs` refuses, and is logged.
 *
 * Operator publishes (HTTP, the microservice transport) call TopicsService
 * directly and are never asked about here.
 */
@Injectable()
export class TopicPermissions implements OnApplicationBootstrap {
  private readonly logger = new LifelineLogger('Lifeline');
  private readonly defaultVerdict: TopicVerdict;

  constructor(
    @Inject(LIFELINE_OPTIONS) private readonly options: ResolvedLifelineOptions,
    private readonly events: EventEmitter2,
    @Optional() @Inject(TOPIC_POLICY) private readonly policy?: TopicPolicy,
  ) {
    this.defaultVerdict = options.defaultTopicPolicy === 'closed' ? REFUSED_BY_DEFAULT : ALLOWED_BY_DEFAULT;
  }

  onApplicationBootstrap(): void {
    if (this.options.auth.mode !== 'none' && this.options.defaultTopicPolicy === 'open') {
      this.logger.warn({
        msg:
          'TOPIC_POLICY is open while AUTH_MODE is on: an authenticated client whose token has no "topics" claim' +
          (this.policy ? ', and whom the TopicPolicy does not decide for,' : '') +
          ' may subscribe and publish to any topic. Set TOPIC_POLICY=closed to refuse what nothing allows.',
        authMode: this.options.auth.mode,
        topicPolicy: this.options.defaultTopicPolicy,
        topicPolicyProvider: this.policy?.constructor.name,
      });
    }
  }

  /**
   * Whether the client may subscribe to `topic` (or keep a subscription it
   * is getting back, e.g. on resume). Never rejects. A refusal is counted
   * (lifeline_topic_refusals_total) and logged like a refused frame; the
   * caller tells the client.
   */
  async canSubscribe(client: ClientRecord, topic: string): Promise<boolean> {
    return this.settle('subscribe', client, topic, await this.decide('subscribe', client, topic, undefined));
  }

  /** Whether the client may publish `data` to `topic`; as canSubscribe. */
  async canPublish(client: ClientRecord, topic: string, data: unknown): Promise<boolean> {
    return this.settle('publish', client, topic, await this.decide('publish', client, topic, data));
  }

  /** The decision alone, nothing counted; synchronous unless an async TopicPolicy is asked. */
  decide(action: TopicAction, client: ClientRecord, topic: string, data: unknown): TopicVerdict | Promise<TopicVerdict> {
    const claims = client.topicClaims;
    if (claims) return claimsAllow(claims, action, topic) ? ALLOWED_BY_CLAIMS : REFUSED_BY_CLAIMS;
    const policy = this.policy;
    if (!policy) return this.defaultVerdict;
    let answer: unknown;
    try {
      if (action === 'subscribe') {
        if (!policy.canSubscribe) return this.defaultVerdict;
        answer = policy.canSubscribe(client, topic);
      } else {
        if (!policy.canPublish) return this.defaultVerdict;
        answer = policy.canPublish(client, topic, data);
      }
    } catch (err) {
      return this.failed(action, client, topic, err);
    }
    if (!isThenable(answer)) return this.fromAnswer(action, client, topic, answer);
    return this.withTimeout(answer).then(
      (value) => {
        if (value !== TIMED_OUT) return this.fromAnswer(action, client, topic, value);
        this.logger.warn({
          msg: 'topic policy did not answer in time; refused',
          clientId: client.id,
          action,
          topic,
          timeoutMs: this.options.topicPolicyTimeoutMs,
        });
        return REFUSED_BY_TIMEOUT;
      },
      (err: unknown) => this.failed(action, client, topic, err),
    );
  }

  /** Counts and logs a refusal, whoever made it (this service, or another guard on the gateway). */
  refused(client: ClientRecord, action: TopicAction, topic: string, by: TopicRefusalSource): void {
    const event: TopicRefusedEvent = { clientId: client.id, action, topic, by };
    // Refusals are expected traffic, and can come in floods: debug level.
    if (isLogEnabled(this.logger, 'debug')) this.logger.debug({ msg: 'topic refused', ...event });
    this.events.emit(LifelineEvents.topicRefused, event);
  }

  private settle(action: TopicAction, client: ClientRecord, topic: string, verdict: TopicVerdict): boolean {
    if (!verdict.allowed) this.refused(client, action, topic, verdict.by);
    return verdict.allowed;
  }

  private fromAnswer(action: TopicAction, client: ClientRecord, topic: string, answer: unknown): TopicVerdict {
    if (answer === true) return ALLOWED_BY_POLICY;
    if (answer === false) return REFUSED_BY_POLICY;
    if (answer === undefined) return this.defaultVerdict;
    return this.failed(action, client, topic, new TypeError(`expected true, false or undefined, got ${typeof answer}`));
  }

  private failed(action: TopicAction, client: ClientRecord, topic: string, err: unknown): TopicVerdict {
    this.logger.error({
      msg: 'topic policy failed; refused',
      clientId: client.id,
      action,
      topic,
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    });
    return REFUSED_BY_ERROR;
  }

  /**
   * The answer, or TIMED_OUT. Node keeps timers of one duration in a single
   * list, so a timer per pending decision (all with this same timeout) is a
   * FIFO append, not a heap entry.
   */
  private withTimeout(answer: PromiseLike<unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, this.options.topicPolicyTimeoutMs, TIMED_OUT);
      answer.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null | undefined)?.then === 'function';
}
