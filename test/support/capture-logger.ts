import type { LoggerService } from '@nestjs/common';

export interface LogLine {
  level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  message: unknown;
  context: string | undefined;
}

/** Keeps every log line so tests can assert on what was logged, and how often. */
export class CaptureLogger implements LoggerService {
  readonly lines: LogLine[] = [];

  /**
   * `enabled`: the levels it reports as on (isLevelEnabled, which lines logged
   * per connection consult); all by default. It keeps every line it is given
   * regardless, so a test sees any line built for a level that is off.
   */
  constructor(private readonly enabled?: readonly LogLine['level'][]) {}

  isLevelEnabled(level: LogLine['level']): boolean {
    return this.enabled?.includes(level) ?? true;
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.push('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.push('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.push('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.push('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.push('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.push('fatal', message, rest);
  }

  /** Structured lines (object messages) whose `msg` matches. */
  entries(msg: string): Record<string, unknown>[] {
    return this.lines
      .map((line) => line.message)
      .filter((m): m is Record<string, unknown> => typeof m === 'object' && m !== null && (m as { msg?: unknown }).msg === msg);
  }

  private push(level: LogLine['level'], message: unknown, rest: unknown[]): void {
    const context = rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    this.lines.push({ level, message, context });
  }
}
