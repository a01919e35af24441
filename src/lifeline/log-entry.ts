import { Logger } from '@nestjs/common';
import { inspect } from 'node:util';

type Fields = Record<string, unknown>;

/** `value` as it reads in a `key=value` line: plain when it can be, JSON when it must be. */
function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    // A cycle or a BigInt: util.inspect copes with both, on one line.
    return inspect(value, { breakLength: Infinity });
  }
}

/**
 * A structured log line that reads well under any LoggerService. Its own
 * fields are what structured loggers (pino through nestjs-pino, Nest's
 * ConsoleLogger in json mode) record, unchanged; text loggers (Nest's
 * default ConsoleLogger prints objects with util.inspect, over several
 * lines: `Object(3) {…}`) get one line instead:
 * `client connected clientId=… remoteAddress=127.0.0.1`.
 */
export class LogEntry {
  [key: string]: unknown;

  constructor(fields: Fields) {
    Object.assign(this, fields);
  }

  toString(): string {
    const { msg, ...rest } = this as Fields;
    const pairs = Object.entries(rest).map(([key, value]) => `${key}=${formatValue(value)}`);
    return [typeof msg === 'string' ? msg : formatValue(msg), ...pairs].join(' ');
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

function asEntry(message: unknown): unknown {
  return message !== null && typeof message === 'object' && Object.getPrototypeOf(message) === Object.prototype
    ? new LogEntry(message as Fields)
    : message;
}

/**
 * Nest's Logger, with plain-object messages turned into LogEntry (readable
 * under any LoggerService). Lifeline's services log through it.
 */
export class LifelineLogger extends Logger {
  override log(message: unknown, ...optionalParams: unknown[]): void {
    super.log(asEntry(message), ...optionalParams);
  }
  override error(message: unknown, ...optionalParams: unknown[]): void {
    super.error(asEntry(message), ...optionalParams);
  }
  override warn(message: unknown, ...optionalParams: unknown[]): void {
    super.warn(asEntry(message), ...optionalParams);
  }
  override debug(message: unknown, ...optionalParams: unknown[]): void {
    super.debug(asEntry(message), ...optionalParams);
  }
  override verbose(message: unknown, ...optionalParams: unknown[]): void {
    super.verbose(asEntry(message), ...optionalParams);
  }
  override fatal(message: unknown, ...optionalParams: unknown[]): void {
    super.fatal(asEntry(message), ...optionalParams);
  }
}
