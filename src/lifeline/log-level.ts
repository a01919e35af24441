import type { Logger, LogLevel } from '@nestjs/common';

/** A logger that can tell whether it writes a level, as Nest's ConsoleLogger can. */
interface LevelAware {
  isLevelEnabled(level: LogLevel): boolean;
}

/**
 * Whether `logger` would write a line at `level`, so a line logged per
 * connection can skip building its object when the level is off: Nest's
 * Logger forwards every call to the app's logger, which only then drops it.
 * Asks that logger (the one given to app.useLogger, or Nest's default); one
 * that cannot tell is assumed to write every level, so nothing is lost.
 */
export function isLogEnabled(logger: Logger, level: LogLevel): boolean {
  const target = logger.localInstance as Partial<LevelAware> | undefined;
  // No logger at all (useLogger(false)): Nest drops every line.
  if (!target) return false;
  return typeof target.isLevelEnabled !== 'function' || target.isLevelEnabled(level);
}
