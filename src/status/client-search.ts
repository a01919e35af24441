import { toClientView } from '../admin/client-view';
import type { ClientRegistryService, TopicsService } from '../lifeline';
import type { StatusClientsPage } from './interfaces';

/**
 * This node's clients whose id, user, address or a topic contains `q`
 * (case-insensitive; empty matches all), oldest first: one walk of the live
 * map, views built only for the first `limit`.
 */
export function searchClients(registry: ClientRegistryService, topics: TopicsService, q: string, limit: number): StatusClientsPage {
  const needle = q.toLowerCase();
  const items: StatusClientsPage['items'] = [];
  let matched = 0;
  for (const record of registry.values()) {
    if (needle !== '') {
      const hit =
        record.id.includes(needle) ||
        (record.userId?.toLowerCase().includes(needle) ?? false) ||
        (record.remoteAddress?.toLowerCase().includes(needle) ?? false) ||
        topics.subscriptionsOf(record).some((t) => t.toLowerCase().includes(needle));
      if (!hit) continue;
    }
    if (matched++ < limit) items.push(toClientView(record, topics));
  }
  return { items, total: registry.size, matched, limit, q };
}
