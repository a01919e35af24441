import { ConfigurableModuleBuilder, type Type } from '@nestjs/common';
import { LIFECYCLE_HOST } from './constants';
import type { LifelineModuleOptions } from './interfaces/lifeline-options.interface';
import { LifelineGateway } from './lifeline.gateway';
import type { TopicPolicy } from './permissions/interfaces/topic-policy.interface';
import { topicPolicyProviders } from './permissions/topic-policy.provider';

export interface LifelineModuleExtras {
  /**
   * The gateway class to mount. Subclass LifelineGateway to put your own
   * @UseInterceptors on the lifecycle path; the subclass needs no decorator.
   */
  gateway: Type<LifelineGateway>;
  /** Register the module globally. */
  isGlobal: boolean;
  /**
   * Who may subscribe and publish, for clients whose token has no `topics`
   * claim: a class (a provider of this module, constructed with its
   * dependencies) or an instance. See the README, "Topic permissions".
   */
  topicPolicy: Type<TopicPolicy> | TopicPolicy | undefined;
}

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<LifelineModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras<LifelineModuleExtras>(
    { gateway: LifelineGateway, isGlobal: false, topicPolicy: undefined },
    (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
      providers: [
        ...(definition.providers ?? []),
        extras.gateway,
        { provide: LIFECYCLE_HOST, useExisting: extras.gateway },
        ...topicPolicyProviders(extras.topicPolicy),
      ],
    }),
  )
  .build();
