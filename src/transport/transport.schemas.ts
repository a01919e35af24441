import { z } from 'zod';
import { MAX_PRESENCE_QUERY } from '../lifeline/presence/presence.constants';
import { publishBodySchema, topicBodySchema } from '../lifeline/protocol';

export const publishCommand = publishBodySchema;

const clientId = z.uuid({ message: 'must be a client id (UUID)' });
const userId = z.string().min(1).max(256);

export const sendCommand = z
  .object({
    clientId: clientId.optional(),
    userId: userId.optional(),
    event: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[^\s]+$/, 'must not contain white space')
      .default('direct'),
    data: z.unknown().optional(),
  })
  .refine((c) => (c.clientId === undefined) !== (c.userId === undefined), {
    message: 'give either clientId or userId, not both',
  });
export type SendCommandInput = z.infer<typeof sendCommand>;

export const kickCommand = z.object({ clientId });

export const clientsQuery = z.object({
  limit: z.number().int().min(1).max(1000).default(100),
  offset: z.number().int().min(0).default(0),
  scope: z.enum(['local', 'cluster'], { message: 'must be local or cluster' }).default('local'),
  userId: userId.optional(),
});
export type ClientsQueryInput = z.infer<typeof clientsQuery>;

/** One of: a user (`{ userId }`), up to 1,000 users (`{ userIds }`), or a topic's members (`{ topic }`). */
export const presenceQuery = z.union([
  z.object({ userId }).strict(),
  z.object({ userIds: z.array(userId).max(MAX_PRESENCE_QUERY, `at most ${MAX_PRESENCE_QUERY} ids per query`) }).strict(),
  topicBodySchema.strict(),
], { message: 'give exactly one of userId, userIds (at most 1000) or topic' });
export type PresenceQueryInput = z.infer<typeof presenceQuery>;
