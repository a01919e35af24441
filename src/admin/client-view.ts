import type { ClientRecord } from '../lifeline';

/** What the operator API shows of a client. */
export interface ClientView {
  id: string;
  userId: string | null;
  remoteAddress: string | null;
  connectedAt: string;
  lastPongAt: string | null;
  rttMs: number | null;
  subscriptions: string[];
  bufferedAmount: number;
}

const TOPIC_RESOURCE = 'topic:';

export function toClientView(record: ClientRecord): ClientView {
  return {
    id: record.id,
    userId: record.userId ?? null,
    remoteAddress: record.remoteAddress ?? null,
    connectedAt: new Date(record.connectedAt).toISOString(),
    lastPongAt: Number.isNaN(record.lastPongAt) ? null : new Date(record.lastPongAt).toISOString(),
    rttMs: Number.isNaN(record.rttMs) ? null : Math.round(record.rttMs * 1000) / 1000,
    // Subscriptions are per-client resources named topic:<t>; no second bookkeeping.
    subscriptions: (record.resources ?? [])
      .filter((r) => r.name.startsWith(TOPIC_RESOURCE))
      .map((r) => r.name.slice(TOPIC_RESOURCE.length)),
    bufferedAmount: record.socket.bufferedAmount,
  };
}
