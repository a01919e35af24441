import { z } from 'zod';

/** A whole number in a range, given as a string of digits. */
const wholeNumber = (min: number, max: number, fallback: number) =>
  z
    .string()
    .default(String(fallback))
    .refine((v) => /^\d+$/.test(v), { message: `must be a whole number from ${min} to ${max}`, abort: true })
    .transform(Number)
    .refine((v) => v >= min && v <= max, { message: `must be a whole number from ${min} to ${max}` });

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

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
  })
  .superRefine((env, ctx) => {
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
      const got = key in input ? ` (got "${String(input[key])}")` : '';
      return `${key}: ${issue.message}${got}`;
    }),
  );
}
