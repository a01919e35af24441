export * from './interfaces';
export * from './constants';
export * from './lifeline.events';
export { LifelineModule } from './lifeline.module';
export { LifelineGateway } from './lifeline.gateway';
export { LifelineWsAdapter } from './lifeline-ws.adapter';
export { ClientRegistryService } from './client-registry.service';
export { HeartbeatService, type HeartbeatStatus } from './heartbeat.service';
export { LifecycleService } from './lifecycle.service';
export { FANOUT_SENDS_PER_TURN, messageFrame, type TopicBus, TopicsService } from './topics/topics.service';
export { CleanupExceptionInterceptor } from './cleanup/cleanup-exception.interceptor';
export { LifecycleCall } from './cleanup/lifecycle-call';
export { ConnectionAttempt } from './upgrade/connection-attempt';
export { BackpressureService } from './limits/backpressure.service';
export { UpgradeGate } from './upgrade/upgrade-gate.service';
export { isLogEnabled } from './log-level';
export { PresenceService } from './presence/presence.service';
export { MemoryPresenceStore } from './presence/memory-presence.store';
export * from './presence/interfaces';
export * from './presence/presence.constants';
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
