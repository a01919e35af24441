import { ConsoleLogger, type INestApplication, Logger } from '@nestjs/common';
import { CaptureLogger } from '../../test/support/capture-logger';
import { closeLifelineModule, startLifelineModule } from '../../test/support/lifeline-testing-app';
import { Loopback } from '../../test/support/loopback';
import { UpgradeGate } from './upgrade/upgrade-gate.service';
import { LifecycleService } from './lifecycle.service';
import { isLogEnabled } from './log-level';

describe('isLogEnabled', () => {
  const logger = new Logger('Lifeline');
  afterEach(() => {
    Logger.overrideLogger(new ConsoleLogger());
  });

  it('asks the app logger when it can tell (Nest ConsoleLogger)', () => {
    Logger.overrideLogger(new ConsoleLogger({ logLevels: ['warn', 'error', 'fatal'] }));
    expect(isLogEnabled(logger, 'log')).toBe(false);
    expect(isLogEnabled(logger, 'warn')).toBe(true);
  });

  it('assumes every level is on for a logger that cannot tell', () => {
    const plain = new CaptureLogger();
    // Only what LoggerService requires: no isLevelEnabled.
    Logger.overrideLogger({ log: plain.log.bind(plain), error: plain.error.bind(plain), warn: plain.warn.bind(plain) });
    expect(isLogEnabled(logger, 'log')).toBe(true);
    expect(isLogEnabled(logger, 'verbose')).toBe(true);
  });

  it('is off when Nest has no logger at all (useLogger(false))', () => {
    Logger.overrideLogger(false);
    expect(isLogEnabled(logger, 'error')).toBe(false);
  });
});

describe('per-connection lines at a quiet level (Nest testing module, real sockets)', () => {
  let app: INestApplication;
  let loop: Loopback;
  afterEach(async () => {
    await closeLifelineModule(app);
    await loop.close();
  });

  async function connectAndDisconnect(logs: CaptureLogger): Promise<void> {
    app = await startLifelineModule({ heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 100 }, logs);
    loop = await Loopback.start();
    const lifecycle = app.get(LifecycleService);
    const { socket, request } = await loop.connect();
    const record = lifecycle.open(socket, request);
    if (!record) throw new Error('the connection was not registered');
    await lifecycle.disconnect(record, 'client_close', 1000, 'bye');
    app.get(UpgradeGate).refuse(request, 503, 'capacity', 'full');
  }

  it('builds and forwards none of them when "log" is off', async () => {
    const logs = new CaptureLogger(['warn', 'error', 'fatal']);
    await connectAndDisconnect(logs);
    expect(logs.entries('client connected')).toEqual([]);
    expect(logs.entries('client disconnected')).toEqual([]);
    expect(logs.entries('upgrade refused')).toEqual([]);
    expect(logs.lines.filter((l) => l.context === 'Lifeline' && l.level === 'log')).toEqual([]);
  });

  it('logs them when "log" is on', async () => {
    const logs = new CaptureLogger(['log', 'warn', 'error', 'fatal']);
    await connectAndDisconnect(logs);
    expect(logs.entries('client connected')).toHaveLength(1);
    expect(logs.entries('client disconnected')).toEqual([expect.objectContaining({ reason: 'client_close' })]);
    expect(logs.entries('upgrade refused')).toEqual([expect.objectContaining({ reason: 'capacity', status: 503 })]);
  });
});
