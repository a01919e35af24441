import { DEFAULT_OPTIONS } from './constants';
import { defaultMaxClients } from './limits/open-file-limit';
import type { LifelineModuleOptions, ResolvedLifelineOptions } from './interfaces/lifeline-options.interface';

/** Applies defaults and checks the rules; throws naming the option and the rule. */
export function resolveLifelineOptions(options: LifelineModuleOptions): ResolvedLifelineOptions {
  const resolved: ResolvedLifelineOptions = {
    ...DEFAULT_OPTIONS,
    auth: { mode: 'none' },
    allowedOrigins: [],
    maxClients: defaultMaxClients(),
    ...stripUndefined(options),
  };
  const positive = ['heartbeatIntervalMs', 'heartbeatTimeoutMs', 'cleanupStepTimeoutMs', 'sweepSliceMs'] as const;
  for (const key of positive) {
    const value = resolved[key];
    if (!Number.isFinite(value) || value <= 0) {
      throw new Error(`LifelineModule: ${key} must be a positive number (got ${String(value)})`);
    }
  }
  // 0 is allowed: terminate at once on shutdown.
  if (!Number.isFinite(resolved.shutdownGraceMs) || resolved.shutdownGraceMs < 0) {
    throw new Error(`LifelineModule: shutdownGraceMs must be zero or more (got ${String(resolved.shutdownGraceMs)})`);
  }
  if (resolved.heartbeatTimeoutMs >= resolved.heartbeatIntervalMs) {
    throw new Error(
      `LifelineModule: heartbeatTimeoutMs (${resolved.heartbeatTimeoutMs}) must be less than heartbeatIntervalMs (${resolved.heartbeatIntervalMs})`,
    );
  }
  const limits = {
    maxClients: resolved.maxClients,
    maxPayloadBytes: resolved.maxPayloadBytes,
    'rateLimit.perSecond': resolved.rateLimit.perSecond,
    'rateLimit.burst': resolved.rateLimit.burst,
    'slowConsumer.maxBufferedBytes': resolved.slowConsumer.maxBufferedBytes,
    'slowConsumer.graceMs': resolved.slowConsumer.graceMs,
    handshakeTimeoutMs: resolved.handshakeTimeoutMs,
    maxSubscriptionsPerClient: resolved.maxSubscriptionsPerClient,
    ...(resolved.slowConsumer.hardLimitBytes !== undefined && {
      'slowConsumer.hardLimitBytes': resolved.slowConsumer.hardLimitBytes,
    }),
  };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new Error(`LifelineModule: ${key} must be a positive number (got ${String(value)})`);
    }
  }
  if (!Number.isInteger(resolved.sessionTtlMs) || resolved.sessionTtlMs < 0) {
    throw new Error(`LifelineModule: sessionTtlMs must be a whole number, zero or more (got ${String(resolved.sessionTtlMs)})`);
  }
  const history = resolved.history;
  for (const [key, min] of [['size', 0], ['ttlMs', 1], ['maxBytes', 1], ['replayMaxMessages', 1]] as const) {
    if (!Number.isInteger(history[key]) || history[key] < min) {
      throw new Error(`LifelineModule: history.${key} must be a whole number, at least ${min} (got ${String(history[key])})`);
    }
  }
  const { maxBufferedBytes, hardLimitBytes } = resolved.slowConsumer;
  if (hardLimitBytes !== undefined && hardLimitBytes < maxBufferedBytes) {
    throw new Error(
      `LifelineModule: slowConsumer.hardLimitBytes (${hardLimitBytes}) must not be below slowConsumer.maxBufferedBytes (${maxBufferedBytes})`,
    );
  }
  const { graceMs, batchMs } = resolved.presence;
  if (!Number.isFinite(graceMs) || graceMs < 0) {
    throw new Error(`LifelineModule: presence.graceMs must be zero or more (got ${String(graceMs)})`);
  }
  if (!Number.isFinite(batchMs) || batchMs <= 0) {
    throw new Error(`LifelineModule: presence.batchMs must be a positive number (got ${String(batchMs)})`);
  }
  const { auth } = resolved;
  if (auth.mode === 'token' && (auth.tokens.length === 0 || auth.tokens.some((t) => t.length === 0))) {
    throw new Error('LifelineModule: auth mode "token" needs at least one non-empty token');
  }
  if (auth.mode === 'jwt' && auth.secret.length < 32) {
    throw new Error('LifelineModule: auth mode "jwt" needs a secret of at least 32 characters');
  }
  if (resolved.defaultTopicPolicy !== 'open' && resolved.defaultTopicPolicy !== 'closed') {
    throw new Error(`LifelineModule: defaultTopicPolicy must be "open" or "closed" (got ${String(resolved.defaultTopicPolicy)})`);
  }
  if (!Number.isFinite(resolved.topicPolicyTimeoutMs) || resolved.topicPolicyTimeoutMs <= 0) {
    throw new Error(`LifelineModule: topicPolicyTimeoutMs must be a positive number (got ${String(resolved.topicPolicyTimeoutMs)})`);
  }
  if (!resolved.path.startsWith('/')) {
    throw new Error(`LifelineModule: path must start with "/" (got "${resolved.path}")`);
  }
  return resolved;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
