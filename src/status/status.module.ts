import { Module } from '@nestjs/common';
import { AdminTokenGuard } from '../admin/admin-token.guard';
import { MetricsModule } from '../metrics/metrics.module';
import { ClusterStatusReader } from './cluster-status.reader';
import { StatusAssets } from './status-assets';
import { StatusController } from './status.controller';
import { StatusFeed } from './status-feed.service';
import { StatusHistory } from './status-history.service';
import { StatusSampler } from './status-sampler';

/**
 * The live status page: GET /status, its feed and client search. Reads the
 * metrics registry, the client registry, the heartbeat and (in cluster mode)
 * Redis; writes nothing. Exports StatusFeed so other modules can add a
 * section. Needs LifelineModule registered globally (isGlobal: true).
 */
@Module({
  imports: [MetricsModule],
  controllers: [StatusController],
  providers: [AdminTokenGuard, StatusAssets, StatusHistory, StatusSampler, StatusFeed, ClusterStatusReader],
  exports: [StatusFeed],
})
export class StatusModule {}
