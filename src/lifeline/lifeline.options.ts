import { DEFAULT_OPTIONS } from './constants';
import type { LifelineModuleOptions, ResolvedLifelineOptions } from './interfaces/lifeline-options.interface';

/** Applies defaults and checks the rules; throws naming the option and the rule. */
export function resolveLifelineOptions(options: LifelineModuleOptions): ResolvedLifelineOptions {
  const resolved: ResolvedLifelineOptions = { ...DEFAULT_OPTIONS, ...stripUndefined(options) };
  const positive = ['heartbeatIntervalMs', 'heartbeatTimeoutMs', 'cleanupStepTimeoutMs', 'sweepSliceMs'] as const;
  for (const key of positive) {
    const value = resolved[key];
    if (!Number.isFinite(value) || value <= 0) {
      throw new Error(`LifelineModule: ${key} must be a positive number (got ${String(value)})`);
    }
  }
  // 0 is allowed: terminate at once on shutdown.
  if (!Number.isFinite(resolved.shutdownGraceMs) || resolved.shutdownGraceMs < 0) {
    throw new Error(`LifelineModule: shutdownGraceMs must be zero or more (got ${String(resolved.shutdownGraceMs)})`);
  }
  if (resolved.heartbeatTimeoutMs >= resolved.heartbeatIntervalMs) {
    throw new Error(
      `LifelineModule: heartbeatTimeoutMs (${resolved.heartbeatTimeoutMs}) must be less than heartbeatIntervalMs (${resolved.heartbeatIntervalMs})`,
    );
  }
  if (!resolved.path.startsWith('/')) {
    throw new Error(`LifelineModule: path must start with "/" (got "${resolved.path}")`);
  }
  return resolved;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
