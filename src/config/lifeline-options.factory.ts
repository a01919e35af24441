import type { ConfigService } from '@nestjs/config';
import type { LifelineModuleOptions } from '../lifeline';
import type { Env } from './env.validation';

/** Maps the validated environment onto LifelineModule options. */
export function lifelineOptionsFromEnv(config: ConfigService<Env, true>): LifelineModuleOptions {
  return {
    path: config.get('WS_PATH', { infer: true }),
    heartbeatIntervalMs: config.get('HEARTBEAT_INTERVAL_MS', { infer: true }),
    heartbeatTimeoutMs: config.get('HEARTBEAT_TIMEOUT_MS', { infer: true }),
    cleanupStepTimeoutMs: config.get('CLEANUP_STEP_TIMEOUT_MS', { infer: true }),
    shutdownGraceMs: config.get('SHUTDOWN_GRACE_MS', { infer: true }),
  };
}
