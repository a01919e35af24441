import type { ConfigService } from '@nestjs/config';
import type { AuthOptions, LifelineModuleOptions } from '../lifeline';
import type { Env } from './env.validation';

/** Maps the validated environment onto LifelineModule options. */
export function lifelineOptionsFromEnv(config: ConfigService<Env, true>): LifelineModuleOptions {
  const get = <K extends keyof Env>(key: K): Env[K] => config.get(key, { infer: true });
  return {
    path: get('WS_PATH'),
    heartbeatIntervalMs: get('HEARTBEAT_INTERVAL_MS'),
    heartbeatTimeoutMs: get('HEARTBEAT_TIMEOUT_MS'),
    cleanupStepTimeoutMs: get('CLEANUP_STEP_TIMEOUT_MS'),
    shutdownGraceMs: get('SHUTDOWN_GRACE_MS'),
    auth: authFromEnv(get),
    allowedOrigins: get('ALLOWED_ORIGINS') ?? [],
    requireOrigin: get('REQUIRE_ORIGIN'),
    maxClients: get('MAX_CLIENTS'),
    maxPayloadBytes: get('MAX_PAYLOAD_BYTES'),
    rateLimit: { perSecond: get('RATE_LIMIT_PER_SEC'), burst: get('RATE_LIMIT_BURST') },
    slowConsumer: {
      maxBufferedBytes: get('SLOW_CONSUMER_MAX_BUFFERED_BYTES'),
      graceMs: get('SLOW_CONSUMER_GRACE_MS'),
      hardLimitBytes: get('SLOW_CONSUMER_HARD_LIMIT_BYTES'),
    },
    handshakeTimeoutMs: get('HANDSHAKE_TIMEOUT_MS'),
    allowBinary: get('ALLOW_BINARY'),
    sharedReadBuffer: get('SHARED_READ_BUFFER'),
    sessionTtlMs: get('SESSION_TTL_MS'),
    history: {
      size: get('HISTORY_SIZE'),
      ttlMs: get('HISTORY_TTL_MS'),
      maxBytes: get('HISTORY_MAX_BYTES'),
      replayMaxMessages: get('REPLAY_MAX_MESSAGES'),
    },
    maxSubscriptionsPerClient: get('MAX_SUBSCRIPTIONS_PER_CLIENT'),
    presence: { graceMs: get('PRESENCE_GRACE_MS'), batchMs: get('PRESENCE_BATCH_MS') },
    defaultTopicPolicy: get('TOPIC_POLICY'),
    topicPolicyTimeoutMs: get('TOPIC_POLICY_TIMEOUT_MS'),
  };
}

function authFromEnv(get: <K extends keyof Env>(key: K) => Env[K]): AuthOptions {
  switch (get('AUTH_MODE')) {
    case 'token':
      return { mode: 'token', tokens: get('AUTH_TOKENS') ?? [] };
    case 'jwt':
      return {
        mode: 'jwt',
        secret: get('AUTH_JWT_SECRET') ?? '',
        audience: get('AUTH_JWT_AUDIENCE'),
        issuer: get('AUTH_JWT_ISSUER'),
      };
    default:
      return { mode: 'none' };
  }
}
