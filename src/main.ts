import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { startApp } from './bootstrap';
import { NodeIdInUseError } from './cluster/node-lease.service';
import { LifelineLogger } from './lifeline/log-entry';
import { EnvValidationError, validateEnv } from './config/env.validation';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

async function main(): Promise<void> {
  // Fail fast with a readable message, before Nest prints a stack trace.
  try {
    validateEnv(process.env);
  } catch (err) {
    if (!(err instanceof EnvValidationError)) throw err;
    process.stderr.write(`lifeline: ${err.message}\n`);
    process.exit(1);
  }
  let app: INestApplication;
  try {
    app = await startApp();
  } catch (err) {
    // The one start-up failure an operator causes most: say which variable, no stack trace.
    if (err instanceof NodeIdInUseError) {
      process.stderr.write(`lifeline: ${err.message}\n`);
      process.exit(1);
    }
    const code = (err as { code?: unknown } | null)?.code;
    if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err;
    const env = validateEnv(process.env);
    const what = code === 'EADDRINUSE' ? 'is already in use' : 'needs privileges this process lacks';
    process.stderr.write(`lifeline: PORT ${env.PORT} on HOST ${env.HOST} ${what} (${String(code)}); set PORT to a free port\n`);
    process.exit(1);
  }

  // Not app.enableShutdownHooks(): it re-raises the signal after the hooks,
  // so the process would die by SIGTERM (status 143) instead of exiting 0.
  // app.close() runs the same hooks: close clients with 1001, await every
  // cleanup, terminate stragglers after SHUTDOWN_GRACE_MS.
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal means "now": skip the grace period.
      process.exit(1);
    }
    stopping = true;
    new LifelineLogger('Lifeline').log({ msg: 'shutting down', signal });
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        new LifelineLogger('Lifeline').error({ msg: 'shutdown failed', error: err instanceof Error ? err.message : String(err) });
        process.exit(1);
      },
    );
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

void main();
