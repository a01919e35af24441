export * from './interfaces';
export { StatusModule } from './status.module';
export { StatusFeed, type StatusViewer } from './status-feed.service';
export { STATUS_FEED_TIMER_NAME } from './status.constants';
