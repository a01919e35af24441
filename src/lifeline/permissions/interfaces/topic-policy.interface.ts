import type { ClientRecord } from '../../interfaces/client-record.interface';

/** What a client asks to do with a topic. */
export type TopicAction = 'subscribe' | 'publish';

/**
 * A policy's answer: `true` allows, `false` refuses, `undefined` (or no
 * method at all) leaves the decision to the default, `TOPIC_POLICY`.
 */
export type TopicDecision = boolean | undefined;

/** `TOPIC_POLICY`: what happens when neither the token's claims nor a TopicPolicy decide. */
export type TopicPolicyDefault = 'open' | 'closed';

/** What a policy may read about the client asking (its live record, read-only). */
export type TopicClient = Readonly<
  Pick<ClientRecord, 'id' | 'userId' | 'remoteAddress' | 'userAgent' | 'connectedAt' | 'expiresAt'>
>;

/**
 * App logic deciding who may subscribe and publish, consulted for clients
 * whose token carries no `topics` claim. Register it with
 * `LifelineModule.forRoot({ topicPolicy: MyPolicy })` (or forRootAsync); it
 * is a Nest provider, so it may inject a repository and answer
 * asynchronously. A method that throws, rejects or does not answer within
 * `TOPIC_POLICY_TIMEOUT_MS` refuses (and is logged); it never closes the
 * connection.
 */
export interface TopicPolicy {
  canSubscribe?(client: TopicClient, topic: string): TopicDecision | Promise<TopicDecision>;
  canPublish?(client: TopicClient, topic: string, data: unknown): TopicDecision | Promise<TopicDecision>;
}
