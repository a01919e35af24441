export * from './interfaces';
export * from './constants';
export * from './lifeline.events';
export { LifelineModule } from './lifeline.module';
export { LifelineGateway } from './lifeline.gateway';
export { LifelineWsAdapter } from './lifeline-ws.adapter';
export { ClientRegistryService } from './client-registry.service';
export { HeartbeatService, type HeartbeatStatus } from './heartbeat.service';
export { LifecycleService } from './lifecycle.service';
export {
  type CatchUp,
  FANOUT_SENDS_PER_TURN,
  messageFrame,
  type PublishResult,
  type TopicBus,
  TopicsService,
} from './topics/topics.service';
export * from './history/interfaces/topic-log.interface';
export { MemoryTopicLog } from './history/memory-topic-log';
export { messageFrameHead, messageFrameTail } from './history/message-frame';
export * from './sessions/interfaces/session-store.interface';
export { MemorySessionStore } from './sessions/memory-session-store';
export { DeadlineQueue } from './sessions/deadline-queue';
export { SessionsService, type PublishAck } from './sessions/sessions.service';
export { ResumeService, type TopicRecovery } from './sessions/resume.service';
export { SESSION_RESOURCE } from './sessions/sessions.constants';
export { hashToken, sameHash, sessionIdOf } from './sessions/session-token';
export { CleanupExceptionInterceptor } from './cleanup/cleanup-exception.interceptor';
export { LifecycleCall } from './cleanup/lifecycle-call';
export { ConnectionAttempt } from './upgrade/connection-attempt';
export { BackpressureService, sendFrame } from './limits/backpressure.service';
export { UpgradeGate } from './upgrade/upgrade-gate.service';
export { isLogEnabled } from './log-level';
export { LifelineLogger, LogEntry } from './log-entry';
export { PresenceService } from './presence/presence.service';
export { MemoryPresenceStore } from './presence/memory-presence.store';
export * from './presence/interfaces';
export * from './presence/presence.constants';
export * from './host';
export * from './permissions/interfaces';
export {
  TOKEN_EXPIRED_CLOSE_CODE,
  TOKEN_EXPIRED_CLOSE_REASON,
  TOKEN_EXPIRY_TIMER_NAME,
  TOPIC_POLICY,
} from './permissions/constants';
export { TopicPermissions, type TopicVerdict } from './permissions/topic-permissions.service';
export { TopicPolicyGuard } from './permissions/topic-policy.guard';
export { TopicForbiddenException } from './permissions/topic-forbidden.exception';
export { GuardRefusalFilter } from './permissions/guard-refusal.filter';
export { TokenExpiryService } from './permissions/token-expiry.service';
export { parseTopicClaims, TopicClaimsError } from './permissions/topic-claims';
