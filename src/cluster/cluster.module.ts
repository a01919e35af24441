import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { CLUSTER_DIRECTORY } from '../admin/cluster-directory';
import { ClusterStores } from './cluster-stores';
import { ClusterTopicsBridge } from './cluster-topics.bridge';
import { CLUSTER_OPTIONS, ClusterKeys } from './cluster.constants';
import { ClusterHealthIndicator } from './cluster.health-indicator';
import { clusterOptionsFromEnv, resolveClusterOptions } from './cluster.options';
import { ClusterService } from './cluster.service';
import type { ClusterModuleOptions, ClusterOptions } from './interfaces/cluster-options.interface';
import { NodeLeaseService } from './node-lease.service';
import { NodeReaper } from './node-reaper.service';
import { ClusterPresenceService } from './presence.service';
import { RedisPresenceStore } from './redis-presence.store';
import { RedisConnection } from './redis.connection';

/**
 * Cluster mode on Redis: node leases, presence, dead-node reaping, topics
 * and direct frames across nodes. Global, so HealthController and an
 * operator API can inject ClusterPresenceService / ClusterHealthIndicator
 * with @Optional() and work unchanged in the in-memory mode. Needs
 * LifelineModule (global), EventEmitterModule and a global ConfigModule.
 */
@Module({})
export class ClusterModule {
  /**
   * Options from the environment (REDIS_URL, NODE_ID, REDIS_KEY_PREFIX,
   * NODE_TTL_MS through a global ConfigModule), or given here by a host app.
   */
  static forRoot(options?: ClusterModuleOptions): DynamicModule {
    return {
      module: ClusterModule,
      global: true,
      imports: [TerminusModule],
      providers: [
        options
          ? { provide: CLUSTER_OPTIONS, useValue: resolveClusterOptions(options) }
          : { provide: CLUSTER_OPTIONS, inject: [ConfigService], useFactory: clusterOptionsFromEnv },
        { provide: ClusterKeys, inject: [CLUSTER_OPTIONS], useFactory: (o: ClusterOptions) => new ClusterKeys(o.keyPrefix) },
        RedisConnection,
        ClusterPresenceService,
        NodeReaper,
        NodeLeaseService,
        ClusterStores,
        ClusterTopicsBridge,
        // User and topic presence in Redis; replaces PresenceService's memory store at init.
        RedisPresenceStore,
        ClusterHealthIndicator,
        ClusterService,
        // GET /clients?scope=cluster (the operator API injects it with @Optional()).
        { provide: CLUSTER_DIRECTORY, useExisting: ClusterPresenceService },
      ],
      exports: [CLUSTER_OPTIONS, ClusterKeys, ClusterPresenceService, ClusterHealthIndicator, CLUSTER_DIRECTORY, RedisConnection],
    };
  }

  /**
   * forRoot() if REDIS_URL is set, else an empty module (the in-memory mode).
   * Decided once the app's ConfigModule has loaded and validated the
   * environment (it copies the variables of a .env file into process.env).
   * `env`: AppModuleOptions.env, which AppModule then uses instead of
   * process.env. If the configuration is invalid, ConfigModule reports it
   * and this resolves to the empty module.
   */
  static async whenConfigured(
    configModule: Promise<DynamicModule>,
    env?: Record<string, string>,
  ): Promise<DynamicModule> {
    try {
      await configModule;
    } catch {
      return { module: ClusterModule };
    }
    const redisUrl = env ? env.REDIS_URL : process.env.REDIS_URL;
    return redisUrl?.trim() ? ClusterModule.forRoot() : { module: ClusterModule };
  }
}
