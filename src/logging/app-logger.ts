import { Injectable, type LogLevel } from '@nestjs/common';
import { Logger } from 'nestjs-pino';
import type { Level } from 'pino';

/** Nest's levels as nestjs-pino's Logger writes them ('log' is pino's info). */
const PINO_LEVELS: Record<LogLevel, Level> = {
  verbose: 'trace',
  debug: 'debug',
  log: 'info',
  warn: 'warn',
  error: 'error',
  fatal: 'fatal',
};

/**
 * nestjs-pino's Logger, which can also tell whether a level is on, as Nest's
 * ConsoleLogger can: lines logged per connection check it (isLogEnabled) and
 * skip building what pino would drop at LOG_LEVEL=warn.
 */
@Injectable()
export class AppLogger extends Logger {
  isLevelEnabled(level: LogLevel): boolean {
    // The pino logger the line would go to: the request's inside one, else the root.
    return this.logger.logger.isLevelEnabled(PINO_LEVELS[level]);
  }
}
