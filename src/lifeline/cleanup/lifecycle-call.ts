import type { DisconnectReason } from '../interfaces/disconnect-reason';

/** The coarse step names; used as the `step` metric label (bounded set). */
export type CleanupStepKind = 'release' | 'emit' | 'terminate';

/**
 * One cleanup step as it travels through Nest's interceptor chain. An
 * interceptor on the gateway sees it as `context.switchToWs().getData()`.
 */
export class LifecycleCall {
  constructor(
    readonly phase: 'disconnect',
    readonly clientId: string,
    readonly reason: DisconnectReason,
    readonly step: CleanupStepKind,
    /** Step detail for logs, e.g. the resource name being released. */
    readonly target: string | undefined,
    readonly run: () => unknown,
  ) {}

  /** `release:topic:news`, `emit`, … — what logs show. */
  get label(): string {
    return this.target === undefined ? this.step : `${this.step}:${this.target}`;
  }
}
