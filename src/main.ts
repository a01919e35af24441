import 'reflect-metadata';
import { startApp } from './bootstrap';
import { EnvValidationError, validateEnv } from './config/env.validation';

async function main(): Promise<void> {
  // Fail fast with a readable message, before Nest prints a stack trace.
  try {
    validateEnv(process.env);
  } catch (err) {
    if (!(err instanceof EnvValidationError)) throw err;
    process.stderr.write(`lifeline: ${err.message}\n`);
    process.exit(1);
  }
  const app = await startApp();
  // SIGTERM/SIGINT run the graceful shutdown (close 1001, cleanup, exit).
  app.enableShutdownHooks();
}

void main();
