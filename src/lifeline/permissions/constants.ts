/** Injection token of the app's TopicPolicy (see LifelineModule.forRoot({ topicPolicy })). */
export const TOPIC_POLICY = Symbol('LIFELINE_TOPIC_POLICY');

/**
 * Close code and reason when a connection's JWT `exp` passes while it is
 * open: an application code (4000–4999), so an SDK can tell it from a
 * network failure, fetch a fresh token and resume.
 */
export const TOKEN_EXPIRED_CLOSE_CODE = 4001;
export const TOKEN_EXPIRED_CLOSE_REASON = 'token_expired';

/** Name of the token-expiry timer in @nestjs/schedule's SchedulerRegistry (one timer for all clients). */
export const TOKEN_EXPIRY_TIMER_NAME = 'lifeline:token-expiry';

