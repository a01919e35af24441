import type { ClientRecord, TopicsService } from '../lifeline';
import type { ClientView } from './client-view.interface';

export type { ClientView } from './client-view.interface';

export function toClientView(record: ClientRecord, topics: TopicsService): ClientView {
  return {
    id: record.id,
    userId: record.userId ?? null,
    remoteAddress: record.remoteAddress ?? null,
    connectedAt: new Date(record.connectedAt).toISOString(),
    lastPongAt: Number.isNaN(record.lastPongAt) ? null : new Date(record.lastPongAt).toISOString(),
    rttMs: Number.isNaN(record.rttMs) ? null : Math.round(record.rttMs * 1000) / 1000,
    subscriptions: topics.subscriptionsOf(record),
    bufferedAmount: record.socket.bufferedAmount,
  };
}
