import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { LifelineWsAdapter } from 'nestjs-lifeline';
import { AsyncAppModule, ClusterAppModule, SyncAppModule } from './app.module';

async function main(): Promise<void> {
  const mode = process.env.EXAMPLE_MODE ?? 'sync';
  const root =
    mode === 'async'
      ? AsyncAppModule.create()
      : mode === 'cluster'
        ? ClusterAppModule.create(process.env.EXAMPLE_REDIS_URL ?? 'redis://127.0.0.1:6379', process.env.EXAMPLE_KEY_PREFIX ?? 'example:')
        : SyncAppModule.create();
  const app = await NestFactory.create(root, {
    logger: ['error', 'warn'],
  });
  // The sync app sets the adapter as the README shows; the async one leaves it to Lifeline.
  if (mode === 'sync') app.useWebSocketAdapter(new LifelineWsAdapter(app));
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  process.stdout.write(`listening ${mode}\n`);
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
