import type { INestApplication } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import { CleanupPipeline } from '../../src/lifeline/cleanup/cleanup.pipeline';
import { ClientRegistryService } from '../../src/lifeline/client-registry.service';
import type { LifelineModuleOptions } from '../../src/lifeline/interfaces/lifeline-options.interface';
import { LifelineWsAdapter } from '../../src/lifeline/lifeline-ws.adapter';
import { LifelineModule } from '../../src/lifeline/lifeline.module';
import type { CaptureLogger } from './capture-logger';

/**
 * LifelineModule alone in a Nest testing module, initialised but not
 * listening: unit specs register real sockets through the registry.
 */
export async function startLifelineModule(options: LifelineModuleOptions, logs: CaptureLogger): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [EventEmitterModule.forRoot(), ScheduleModule.forRoot(), LifelineModule.forRoot(options)],
  })
    .setLogger(logs)
    .compile();
  const app = moduleRef.createNestApplication({ logger: logs });
  // The gateway needs a ws adapter (Nest's default is socket.io, not installed).
  app.useWebSocketAdapter(new LifelineWsAdapter(app));
  await app.init();
  return app;
}

/** Cleans up whoever is left (so shutdown does not wait out its grace period), then closes. */
export async function closeLifelineModule(app: INestApplication): Promise<void> {
  const pipeline = app.get(CleanupPipeline);
  for (const record of app.get(ClientRegistryService).values()) void pipeline.run(record, 'server_shutdown');
  await pipeline.drain();
  await app.close();
}
