import { ConfigurableModuleBuilder, type Type } from '@nestjs/common';
import { LIFECYCLE_HOST } from './constants';
import type { LifelineModuleOptions } from './interfaces/lifeline-options.interface';
import { LifelineGateway } from './lifeline.gateway';

export interface LifelineModuleExtras {
  /**
   * The gateway class to mount. Subclass LifelineGateway to put your own
   * @UseInterceptors on the lifecycle path; the subclass needs no decorator.
   */
  gateway: Type<LifelineGateway>;
  /** Register the module globally. */
  isGlobal: boolean;
}

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<LifelineModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras<LifelineModuleExtras>(
    { gateway: LifelineGateway, isGlobal: false },
    (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
      providers: [
        ...(definition.providers ?? []),
        extras.gateway,
        { provide: LIFECYCLE_HOST, useExisting: extras.gateway },
      ],
    }),
  )
  .build();
