import { z } from 'zod';

/** A whole number in a range, given as a string of digits. */
const wholeNumber = (min: number, max: number, fallback: number) =>
  z
    .string()
    .default(String(fallback))
    .refine((v) => /^\d+$/.test(v), { message: `must be a whole number from ${min} to ${max}`, abort: true })
    .transform(Number)
    .refine((v) => v >= min && v <= max, { message: `must be a whole number from ${min} to ${max}` });

export const AUTH_MODES = ['none', 'token', 'jwt'] as const;

/** A comma-separated list; blanks around items are dropped, empty items refused. */
const commaList = z
  .string()
  .transform((v) => v.split(',').map((item) => item.trim()))
  .refine((items) => items.every((item) => item.length > 0), { message: 'must be a comma-separated list without empty items' });

export const TOPIC_POLICIES = ['open', 'closed'] as const;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * A whole number in a range with no default in the schema: cluster variables
 * stay absent unless set, so the in-memory mode's configuration is unchanged.
 * Their defaults are CLUSTER_DEFAULTS, applied by the cluster module.
 */
const optionalWholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: `must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .refine((v) => v >= min && v <= max, { message: `must be a whole number from ${min} to ${max}` })
    .optional();

// Defined beside the cluster module, which the published library includes and
// which must not load this file (zod, the service's schema).
export { CLUSTER_DEFAULTS } from '../cluster/cluster.defaults';

/** Every variable the service reads, with its default. Keep .env.example in step. */
export const envSchema = z
  .object({
    PORT: wholeNumber(0, 65_535, 3000),
    HOST: z.string().min(1, 'must not be empty').default('0.0.0.0'),
    WS_PATH: z
      .string()
      .default('/ws')
      .refine((v) => /^\/[^\s?#]*$/.test(v), { message: 'must start with "/" and contain no spaces, "?" or "#"' }),
    HEARTBEAT_INTERVAL_MS: wholeNumber(10, 3_600_000, 25_000),
    HEARTBEAT_TIMEOUT_MS: wholeNumber(5, 3_600_000, 10_000),
    CLEANUP_STEP_TIMEOUT_MS: wholeNumber(1, 600_000, 5_000),
    SHUTDOWN_GRACE_MS: wholeNumber(0, 600_000, 10_000),
    LOG_LEVEL: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    // Hardening (see README "Limits and security").
    AUTH_MODE: z.enum(AUTH_MODES, { message: `must be one of ${AUTH_MODES.join(', ')}` }).default('none'),
    AUTH_TOKENS: commaList.optional(),
    AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    AUTH_JWT_AUDIENCE: z.string().min(1).optional(),
    AUTH_JWT_ISSUER: z.string().min(1).optional(),
    ALLOWED_ORIGINS: commaList.optional(),
    ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    MAX_CLIENTS: optionalWholeNumber(1, 10_000_000),
    MAX_PAYLOAD_BYTES: wholeNumber(16, 100 * 1024 * 1024, 1024 * 1024),
    RATE_LIMIT_PER_SEC: wholeNumber(1, 1_000_000, 50),
    RATE_LIMIT_BURST: wholeNumber(1, 1_000_000, 100),
    SLOW_CONSUMER_MAX_BUFFERED_BYTES: wholeNumber(1024, 1024 * 1024 * 1024, 4 * 1024 * 1024),
    SLOW_CONSUMER_GRACE_MS: wholeNumber(10, 600_000, 10_000),
    // Default 4 x SLOW_CONSUMER_MAX_BUFFERED_BYTES (applied by LifelineModule).
    SLOW_CONSUMER_HARD_LIMIT_BYTES: optionalWholeNumber(1024, 4 * 1024 * 1024 * 1024),
    MAX_SUBSCRIPTIONS_PER_CLIENT: wholeNumber(1, 1_000_000, 1000),
    REQUIRE_ORIGIN: z
      .enum(['true', 'false'], { message: 'must be true or false' })
      .default('false')
      .transform((v) => v === 'true'),
    HANDSHAKE_TIMEOUT_MS: wholeNumber(100, 600_000, 10_000),
    HTTP_BODY_TIMEOUT_MS: wholeNumber(100, 600_000, 10_000),
    ALLOW_BINARY: z
      .enum(['true', 'false'], { message: 'must be true or false' })
      .default('false')
      .transform((v) => v === 'true'),
    SHARED_READ_BUFFER: z
      .enum(['true', 'false'], { message: 'must be true or false' })
      .default('true')
      .transform((v) => v === 'true'),
    // Presence (see README "Presence").
    PRESENCE_GRACE_MS: wholeNumber(0, 3_600_000, 5_000),
    PRESENCE_BATCH_MS: wholeNumber(10, 600_000, 1_000),
    // Sessions and history (see README "Sessions and replay").
    SESSION_TTL_MS: wholeNumber(0, 86_400_000, 120_000),
    HISTORY_SIZE: wholeNumber(0, 1_000_000, 1000),
    HISTORY_TTL_MS: wholeNumber(100, 86_400_000, 120_000),
    HISTORY_MAX_BYTES: wholeNumber(1024, 64 * 1024 * 1024 * 1024, 64 * 1024 * 1024),
    REPLAY_MAX_MESSAGES: wholeNumber(1, 1_000_000, 1000),
    // Topic permissions (see README "Topic permissions").
    TOPIC_POLICY: z.enum(TOPIC_POLICIES, { message: `must be one of ${TOPIC_POLICIES.join(', ')}` }).default('open'),
    TOPIC_POLICY_TIMEOUT_MS: wholeNumber(1, 600_000, 5_000),
    // Cluster mode (see README "Cluster mode"); REDIS_URL unset = in-memory mode.
    REDIS_URL: z
      .string()
      .refine(
        (v) => {
          try {
            const url = new URL(v);
            return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
          } catch {
            return false;
          }
        },
        { message: 'must be a redis:// or rediss:// URL with a host, e.g. redis://127.0.0.1:6379' },
      )
      .optional(),
    NODE_ID: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,128}$/, { message: 'must be 1 to 128 letters, digits, ".", "_", ":" or "-"' })
      .optional(),
    REDIS_KEY_PREFIX: z
      .string()
      .regex(/^[^\s]{1,100}$/, { message: 'must be 1 to 100 characters without white space' })
      .optional(),
    NODE_TTL_MS: optionalWholeNumber(300, 600_000),
    // Nest microservice transport (see README "Microservice transport"); none = HTTP and WebSocket only.
    MICROSERVICE_TRANSPORT: z
      .enum(['none', 'nats', 'redis'], { message: 'must be one of none, nats, redis' })
      .default('none'),
    MICROSERVICE_URL: z
      .string()
      .refine(
        (v) => {
          try {
            const url = new URL(v);
            return ['nats:', 'redis:', 'rediss:'].includes(url.protocol) && url.hostname !== '';
          } catch {
            return false;
          }
        },
        { message: 'must be a nats:// or redis:// URL with a host, e.g. nats://127.0.0.1:4222' },
      )
      .optional(),
    MICROSERVICE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,64}$/, { message: 'must be 1 to 64 letters, digits, ".", "_", ":" or "-"' })
      .optional(),
  })
  .superRefine((env, ctx) => {
    if (env.AUTH_MODE === 'token' && !env.AUTH_TOKENS) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_TOKENS'], message: 'is required when AUTH_MODE=token' });
    }
    if (env.AUTH_MODE === 'jwt' && !env.AUTH_JWT_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_JWT_SECRET'], message: 'is required when AUTH_MODE=jwt' });
    }
    if (env.MICROSERVICE_TRANSPORT !== 'none') {
      const scheme = env.MICROSERVICE_TRANSPORT === 'nats' ? ['nats:'] : ['redis:', 'rediss:'];
      if (!env.MICROSERVICE_URL) {
        ctx.addIssue({ code: 'custom', path: ['MICROSERVICE_URL'], message: `is required when MICROSERVICE_TRANSPORT=${env.MICROSERVICE_TRANSPORT}` });
      } else if (!scheme.includes(new URL(env.MICROSERVICE_URL).protocol)) {
        ctx.addIssue({ code: 'custom', path: ['MICROSERVICE_URL'], message: `must be a ${scheme.join(' or ')}// URL for MICROSERVICE_TRANSPORT=${env.MICROSERVICE_TRANSPORT}` });
      }
    }
    const { SLOW_CONSUMER_MAX_BUFFERED_BYTES: soft, SLOW_CONSUMER_HARD_LIMIT_BYTES: hard } = env;
    if (Number.isInteger(soft) && hard !== undefined && Number.isInteger(hard) && hard < soft) {
      ctx.addIssue({
        code: 'custom',
        path: ['SLOW_CONSUMER_HARD_LIMIT_BYTES'],
        message: `must not be below SLOW_CONSUMER_MAX_BUFFERED_BYTES (${soft})`,
      });
    }
    // Compare only two valid numbers; a bad one is already reported on its own.
    const { HEARTBEAT_INTERVAL_MS: interval, HEARTBEAT_TIMEOUT_MS: timeout } = env;
    if (Number.isInteger(interval) && Number.isInteger(timeout) && timeout >= interval) {
      ctx.addIssue({
        code: 'custom',
        path: ['HEARTBEAT_TIMEOUT_MS'],
        message: `must be less than HEARTBEAT_INTERVAL_MS (${env.HEARTBEAT_INTERVAL_MS}), or a ping could never be answered in time`,
      });
    }
  });

export type Env = z.infer<typeof envSchema>;

/** Never echoed back in a validation message: they hold credentials. */
const SECRET_VARIABLES = new Set(['AUTH_TOKENS', 'AUTH_JWT_SECRET', 'ADMIN_TOKEN', 'REDIS_URL', 'MICROSERVICE_URL']);

export class EnvValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'EnvValidationError';
  }
}

/**
 * Validates the raw environment (for @nestjs/config's `validate`). Empty
 * strings count as unset, as in most .env files. Throws EnvValidationError
 * naming each bad variable, the rule and the value.
 */
export function validateEnv(raw: Record<string, unknown>): Env {
  const known = Object.keys(envSchema.shape) as (keyof Env)[];
  const input: Record<string, unknown> = {};
  for (const key of known) {
    const value = raw[key];
    if (typeof value === 'string' && value.trim() !== '') input[key] = value.trim();
    else if (typeof value === 'number') input[key] = String(value);
  }
  const result = envSchema.safeParse(input);
  if (result.success) return result.data;
  throw new EnvValidationError(
    result.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const got = !(key in input) ? '' : SECRET_VARIABLES.has(key) ? ' (value not shown)' : ` (got "${String(input[key])}")`;
      return `${key}: ${issue.message}${got}`;
    }),
  );
}
