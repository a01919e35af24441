import { z } from 'zod';

const wholeNumber = (min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: `must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .refine((v) => v >= min && v <= max, { message: `must be a whole number from ${min} to ${max}` })
    .optional()
    .transform((v) => v ?? fallback);

export const listClientsQuery = z.object({
  limit: wholeNumber(1, 1000, 100),
  offset: wholeNumber(0, Number.MAX_SAFE_INTEGER, 0),
  scope: z.enum(['local', 'cluster'], { message: 'must be local or cluster' }).default('local'),
});
export type ListClientsQuery = z.infer<typeof listClientsQuery>;

export const clientId = z.uuid({ message: 'must be a client id (UUID)' });

/** Same rule as the WebSocket protocol's topics. */
export const topicParam = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\s]+$/, 'must not contain white space');
