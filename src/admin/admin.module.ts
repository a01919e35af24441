import { Module } from '@nestjs/common';
import { AdminTokenGuard } from './admin-token.guard';
import { ClientsController } from './clients.controller';
import { PresenceController } from './presence.controller';
import { TopicsController } from './topics.controller';

/** The operator API. Needs LifelineModule registered globally (isGlobal: true). */
@Module({
  controllers: [ClientsController, TopicsController, PresenceController],
  providers: [AdminTokenGuard],
})
export class AdminModule {}
