import type { WsResponse } from '@nestjs/websockets';
import { z } from 'zod';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth';

/** Error codes a client can receive in an `error` frame. */
export type ErrorCode = 'bad_request' | 'internal_error' | 'rate_limited' | 'too_many_subscriptions' | 'forbidden';

export interface ErrorFrameData {
  code: ErrorCode;
  message: string;
  /** The event of the frame that caused the error, when known. */
  event?: string;
  /** `forbidden`: the topic the client may not subscribe or publish to. */
  topic?: string;
}

/** A client sent something the protocol does not accept. The connection stays open. */
export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly event?: string,
    /** The error frame's code. */
    readonly code: ErrorCode = 'bad_request',
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export function errorFrame(code: ErrorCode, message: string, event?: string): WsResponse<ErrorFrameData> {
  return { event: 'error', data: event === undefined ? { code, message } : { code, message, event } };
}

/**
 * `json` (a serialised object) with one more field whose value is already
 * JSON: a large shared part (a presence snapshot) is spliced in, not
 * serialised again per frame.
 */
export function withRawField(json: string, key: string, rawJson: string): string {
  return `${json.slice(0, -1)}${json.length > 2 ? ',' : ''}${JSON.stringify(key)}:${rawJson}}`;
}

/** Nest's `{ event, data }` frame. */
// `data` may be absent: `{"event":"ping"}` is a ping with no payload.
export const frameSchema = z.object({ event: z.string().min(1).max(64), data: z.unknown().optional() });
export type Frame = z.infer<typeof frameSchema>;

const topic = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\s]+$/, 'must not contain white space');

export const topicBodySchema = z.object({ topic });
/** `presence: true` also joins the topic's presence and asks for its snapshot and diffs. */
export const subscribeBodySchema = z.object({ topic, presence: z.boolean().optional() });
export const publishBodySchema = z.object({ topic, data: z.unknown().optional(), id: z.string().min(1).max(128).optional() });

/** Topics a resume may list: at most this many. */
export const MAX_RESUME_TOPICS = 10_000;

export const resumeBodySchema = z.object({
  token: z.string().min(1).max(512),
  topics: z
    .record(topic, z.object({ epoch: z.string().min(1).max(128), offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }))
    .refine((topics) => Object.keys(topics).length <= MAX_RESUME_TOPICS, { message: `at most ${MAX_RESUME_TOPICS} topics` })
    .optional(),
});

/** Parses a text frame into `{ event, data }` or throws a ProtocolError saying why. */
export function parseFrame(raw: string): Frame {
  if (nestsDeeperThan(raw)) throw new ProtocolError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ProtocolError('malformed JSON');
  }
  const result = frameSchema.safeParse(value);
  if (!result.success) {
    throw new ProtocolError(`expected {"event": string, "data": any}: ${describeIssues(result.error)}`);
  }
  return result.data;
}

/** Validates a message body against a schema or throws a ProtocolError naming the field. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown, event: string): T {
  const result = schema.safeParse(body);
  if (!result.success) throw new ProtocolError(`invalid data: ${describeIssues(result.error)}`, event);
  return result.data;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : 'frame'}: ${issue.message}`)
    .join('; ');
}
