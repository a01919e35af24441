import type { IncomingMessage } from 'node:http';

/**
 * An upgrade request on its way through the gateway's guards, before any
 * socket exists. A guard sees it as `context.switchToWs().getData()`; the
 * request is also `getClient()`. Refuse by returning false (HTTP 403) or by
 * throwing an HttpException (its status and message are sent).
 */
export class ConnectionAttempt {
  constructor(
    readonly request: IncomingMessage,
    /** Set by authentication, before guards run. */
    readonly userId: string | undefined,
  ) {}
}
