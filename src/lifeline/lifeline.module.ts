import { Module } from '@nestjs/common';
import { CleanupExceptionInterceptor } from './cleanup/cleanup-exception.interceptor';
import { CleanupPipeline } from './cleanup/cleanup.pipeline';
import { LifecycleContext } from './cleanup/lifecycle-context';
import { ClientRegistryService } from './client-registry.service';
import { LIFELINE_OPTIONS } from './constants';
import { HeartbeatService } from './heartbeat.service';
import { HOST_PROVIDERS, LifelineAdapterDefault } from './host/host.providers';
import { LifelineHostModule } from './host/lifeline-host.module';
import type { LifelineModuleOptions } from './interfaces/lifeline-options.interface';
import { LifecycleService } from './lifecycle.service';
import { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } from './lifeline.module-definition';
import { resolveLifelineOptions } from './lifeline.options';
import { BackpressureService } from './limits/backpressure.service';
import { ResumeService } from './sessions/resume.service';
import { SessionsService } from './sessions/sessions.service';
import { GuardRefusalFilter } from './permissions/guard-refusal.filter';
import { TokenExpiryService } from './permissions/token-expiry.service';
import { TopicPermissions } from './permissions/topic-permissions.service';
import { TopicPolicyGuard } from './permissions/topic-policy.guard';
import { PresenceService } from './presence/presence.service';
import { TopicsService } from './topics/topics.service';
import { UpgradeGate } from './upgrade/upgrade-gate.service';

/**
 * The reusable core. Import with forRoot/forRootAsync; the host app must also
 * import EventEmitterModule.forRoot() (a clear error at start otherwise).
 * ScheduleModule.forRoot() and app.useWebSocketAdapter(new LifelineWsAdapter(app))
 * are optional: Lifeline falls back to its own (host/host.providers.ts).
 */
@Module({
  imports: [LifelineHostModule],
  providers: [
    ...HOST_PROVIDERS,
    LifelineAdapterDefault,
    {
      provide: LIFELINE_OPTIONS,
      useFactory: (options: LifelineModuleOptions) => resolveLifelineOptions(options),
      inject: [MODULE_OPTIONS_TOKEN],
    },
    ClientRegistryService,
    HeartbeatService,
    CleanupPipeline,
    CleanupExceptionInterceptor,
    LifecycleContext,
    LifecycleService,
    TopicsService,
    UpgradeGate,
    BackpressureService,
    SessionsService,
    ResumeService,
    TopicPermissions,
    TopicPolicyGuard,
    GuardRefusalFilter,
    TokenExpiryService,
    PresenceService,
  ],
  exports: [
    LIFELINE_OPTIONS,
    ClientRegistryService,
    HeartbeatService,
    LifecycleService,
    TopicsService,
    UpgradeGate,
    BackpressureService,
    SessionsService,
    ResumeService,
    TopicPermissions,
    TokenExpiryService,
    PresenceService,
  ],
})
export class LifelineModule extends ConfigurableModuleClass {}
