export {
  LifelineClient,
  type ClientEvents,
  type ClientState,
  type LifelineClientOptions,
  type MessageHandler,
  type MessageMeta,
  type ResyncEvent,
  type RetryEvent,
  type StateDetail,
  type SubscribeOptions,
  type Subscription,
} from './client';
export type { PresenceEvent } from './presence';
export type { PresenceLeave, PresenceMember, PresenceSnapshot } from './protocol';
export { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
export { classifyClose, retryHintMs, type CloseAction } from './close-codes';
export { LifelineError, type LifelineErrorCode } from './errors';
export type { WebSocketConstructor, WebSocketLike } from './host';
export { DEFAULT_OUTBOX, type PublishResult } from './outbox';
