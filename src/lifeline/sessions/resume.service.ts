import { Injectable, Optional } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { performance } from 'node:perf_hooks';
import { ClientRegistryService } from '../client-registry.service';
import type { ClientRecord } from '../interfaces/client-record.interface';
import { LifelineEvents, type ResumeResult, type SessionResumedEvent } from '../lifeline.events';
import { isLogEnabled } from '../log-level';
import { BackpressureService } from '../limits/backpressure.service';
import { TopicPermissions } from '../permissions/topic-permissions.service';
import { errorFrame, parseBody, ProtocolError, resumeBodySchema, withRawField } from '../protocol';
import { type CatchUp, TopicsService } from '../topics/topics.service';
import { PresenceService } from '../presence/presence.service';
import type { ResumeRefusal, TakeOver } from './interfaces/session-store.interface';
import { hashToken, sessionIdOf } from './session-token';
import { SessionsService } from './sessions.service';
import { LifelineLogger } from '../log-entry';

/** Per topic in the `resumed` frame. */
// A topic the session watched with `presence: true` also carries `presence`, its members now
// (diffs were missed): spliced in as the shared snapshot JSON, see resumedFrame().
export type TopicRecovery =
  | { recovered: true; replayed: number }
  | { recovered: false; reason: 'trimmed' | 'epoch_changed' | 'no_position' | 'too_many' };

/**
 * The `resume` frame: takes a session over for this connection, restores its
 * subscriptions and replays what each listed topic missed.
 *
 *   1. the store checks token, user and expiry and hands the session over
 *      (a fresh token; the old connection, if still registered, is cleaned
 *      up at once with reason `resumed`);
 *   2. every subscription of the session (and every topic listed) starts
 *      through TopicsService.subscribeFrom, which holds the client's live
 *      messages while the history after its position is read;
 *   3. `resumed` goes out, then per topic the missed messages in offset
 *      order, then the held live ones after them: none lost, none twice,
 *      none out of order.
 *
 * Every frame goes through BackpressureService.send.
 */
@Injectable()
export class ResumeService {
  private readonly logger = new LifelineLogger('Lifeline');

  constructor(
    private readonly sessions: SessionsService,
    private readonly topics: TopicsService,
    private readonly registry: ClientRegistryService,
    private readonly backpressure: BackpressureService,
    private readonly events: EventEmitter2,
    /** Topic permissions: a restored subscription is checked like a new one. */
    @Optional() private readonly permissions?: TopicPermissions,
    /** Presence: the connection becomes the session's member, and watched topics are watched again. */
    @Optional() private readonly presence?: PresenceService,
  ) {}

  async resume(client: ClientRecord, body: unknown): Promise<void> {
    const started = performance.now();
    const { token, topics: positions = {} } = parseBody(resumeBodySchema, body, 'resume');
    const sessionId = this.sessions.enabled ? sessionIdOf(token) : undefined;
    if (sessionId === undefined) return this.refuse(client, 'unknown_session', started);
    const fresh = this.sessions.freshToken(sessionId);
    this.presence?.resumeStarted(client);
    let taken: TakeOver;
    try {
      taken = await this.sessions.store.takeOver(sessionId, hashToken(token), fresh.hash, client.id, client.userId);
    } catch (err) {
      await this.presence?.resumeEnded(client, undefined);
      throw err;
    }
    if (!taken.ok) return this.refuse(client, taken.reason, started);
    if (!this.registry.has(client.id)) {
      // Left while the store answered: the session waits for the next resume.
      await this.sessions.store.release(sessionId, client.id);
      return;
    }
    const own = client.sessionId;
    client.sessionId = sessionId;
    if (own !== undefined && own !== sessionId) void this.sessions.store.discard(own).catch(() => undefined);
    const previous = taken.previousOwner;
    if (previous && previous.clientId !== client.id) this.sessions.evict(previous);
    // The session's member from now on (before any topic is watched again below).
    await this.presence?.resumeEnded(client, sessionId);

    const wanted = [...new Set([...taken.topics, ...Object.keys(positions)])];
    // The subscribe policy is asked again for every topic; a refused one is not restored and
    // gets the error frame a refused subscribe gets.
    const allowed = this.permissions
      ? await Promise.all(wanted.map((topic) => this.permissions!.canSubscribe(client, topic)))
      : wanted.map(() => true);
    const names = wanted.filter((_, i) => allowed[i]);
    for (const topic of wanted.filter((_, i) => !allowed[i])) {
      const frame = errorFrame('forbidden', `not allowed to subscribe to "${topic}"`, 'subscribe');
      frame.data.topic = topic;
      this.send(client, frame);
      void this.sessions.store.removeTopic(sessionId, topic).catch(() => undefined);
    }
    const settled = await Promise.allSettled(
      names.map((topic) => this.topics.subscribeFrom(client, topic, has(positions, topic) ? positions[topic] : undefined)),
    );
    const catchUps: CatchUp[] = [];
    // No prototype: a topic named `__proto__` is an entry like any other.
    const recovery: Record<string, TopicRecovery> = Object.create(null) as Record<string, TopicRecovery>;
    let failure: unknown;
    // A topic refused by the subscribe permission is not recovered either.
    let recoveredAll = names.length === wanted.length;
    settled.forEach((outcome, i) => {
      if (outcome.status === 'rejected') {
        // A refusal of that one topic (too_many_subscriptions): answered as a subscribe would be.
        if (outcome.reason instanceof ProtocolError) {
          const frame = errorFrame(outcome.reason.code, outcome.reason.message, 'subscribe');
          frame.data.topic = names[i];
          this.send(client, frame);
        } else {
          failure ??= outcome.reason;
        }
        return;
      }
      const catchUp = outcome.value;
      if (!catchUp) return;
      catchUps.push(catchUp);
      const read = catchUp.read;
      const result: TopicRecovery = !read
        ? { recovered: false, reason: 'no_position' }
        : read.ok
          ? { recovered: true, replayed: read.messages.length }
          : { recovered: false, reason: read.reason };
      if (!result.recovered) recoveredAll = false;
      recovery[names[i]] = result;
    });
    // Before `resumed` and the replay: the snapshot is current and the diffs after it follow.
    const snapshots = await this.watchAgain(client, taken.presence, recovery);
    let replayed = 0;
    try {
      if (failure === undefined) {
        this.backpressure.send(client, resumedFrame(sessionId, fresh.token, recovery, snapshots));
      }
    } finally {
      // Always: a hold left behind would keep the client's live messages forever.
      for (const catchUp of catchUps) replayed += catchUp.finish();
    }
    if (failure !== undefined) throw failure instanceof Error ? failure : new Error('resume failed');
    this.report(client, sessionId, recoveredAll ? 'recovered' : 'partial', started, previous?.clientId, replayed, names.length);
  }

  /**
   * The session's presence-watched topics that were restored are watched
   * again: its member stays (no leave, no join) and the entry carries a fresh
   * snapshot. One that fails (Redis away) is left without `presence`, and the
   * client may subscribe with presence again.
   */
  private async watchAgain(
    client: ClientRecord,
    topics: string[],
    recovery: Record<string, TopicRecovery>,
  ): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const presence = this.presence;
    if (!presence) return found;
    const restored = topics.filter((topic) => has(recovery, topic));
    const snapshots = await Promise.allSettled(restored.map((topic) => presence.watch(client, topic)));
    snapshots.forEach((outcome, i) => {
      if (outcome.status === 'fulfilled') found.set(restored[i], outcome.value);
      else if (isLogEnabled(this.logger, 'warn')) {
        this.logger.warn({ msg: 'presence not restored', clientId: client.id, topic: restored[i], error: errorText(outcome.reason) });
      }
    });
    return found;
  }

  private refuse(client: ClientRecord, reason: ResumeRefusal, started: number): void {
    // Not resumed: an anonymous connection is its own member.
    void this.presence?.resumeEnded(client, undefined);
    this.send(client, { event: 'resumed', data: { sessionId: null, reason } });
    this.report(client, null, reason, started, undefined, 0, 0);
  }

  private send(client: ClientRecord, frame: unknown): void {
    this.backpressure.send(client, JSON.stringify(frame));
  }

  private report(
    client: ClientRecord,
    sessionId: string | null,
    result: ResumeResult,
    started: number,
    previousClientId: string | undefined,
    replayed: number,
    topics: number,
  ): void {
    const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
    const event: SessionResumedEvent = { clientId: client.id, sessionId, result, previousClientId, replayed, durationMs };
    this.events.emit(LifelineEvents.sessionResumed, event);
    if (isLogEnabled(this.logger, 'log')) {
      this.logger.log({
        msg: 'session resume',
        result,
        clientId: client.id,
        sessionId,
        ...(previousClientId !== undefined && { previousClientId }),
        topics,
        replayed,
        durationMs,
      });
    }
  }
}

/** `resumed`, with each restored presence topic's shared snapshot spliced into its entry. */
function resumedFrame(
  sessionId: string,
  token: string,
  recovery: Record<string, TopicRecovery>,
  snapshots: Map<string, string>,
): string {
  const entries = Object.keys(recovery).map((topic) => {
    const entry = JSON.stringify(recovery[topic]);
    const snapshot = snapshots.get(topic);
    return `${JSON.stringify(topic)}:${snapshot === undefined ? entry : withRawField(entry, 'presence', snapshot)}`;
  });
  return `{"event":"resumed","data":${withRawField(JSON.stringify({ sessionId, token }), 'topics', `{${entries.join(',')}}`)}}`;
}

function has(record: Record<string, unknown>, topic: string): boolean {
  return Object.prototype.hasOwnProperty.call(record, topic);
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
