import { Logger as NestLogger } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import pino from 'pino';
import { isLogEnabled } from '../lifeline';
import { AppLogger } from './app-logger';

describe('AppLogger (nestjs-pino with a level check)', () => {
  const root = pino({ level: 'warn' }, { write: () => undefined });
  const appLogger = new AppLogger(new PinoLogger({ pinoHttp: { logger: root } }), {});
  afterEach(() => {
    root.level = 'warn';
  });

  it("maps Nest's levels as nestjs-pino writes them and follows pino's level, also when it changes", () => {
    expect(appLogger.isLevelEnabled('log')).toBe(false);
    expect(appLogger.isLevelEnabled('warn')).toBe(true);
    root.level = 'info';
    expect(appLogger.isLevelEnabled('log')).toBe(true);
    expect(appLogger.isLevelEnabled('debug')).toBe(false);
    root.level = 'trace';
    expect(appLogger.isLevelEnabled('verbose')).toBe(true);
    root.level = 'silent';
    expect(appLogger.isLevelEnabled('fatal')).toBe(false);
  });

  it('is what isLogEnabled consults once it is the app logger (app.useLogger)', () => {
    NestLogger.overrideLogger(appLogger);
    const logger = new NestLogger('Lifeline');
    expect(isLogEnabled(logger, 'log')).toBe(false);
    root.level = 'info';
    expect(isLogEnabled(logger, 'log')).toBe(true);
  });
});
