export * from './interfaces';
export { ClusterModule } from './cluster.module';
export { ClusterPresenceService } from './presence.service';
export { ClusterHealthIndicator } from './cluster.health-indicator';
export { ClusterKeys, CLUSTER_OPTIONS } from './cluster.constants';
export { RedisPresenceStore } from './redis-presence.store';
