import { toClientView } from '../admin/client-view';
import type { ClientRegistryService } from '../lifeline';
import type { StatusClientsPage } from './interfaces';

const TOPIC_RESOURCE = 'topic:';

/**
 * This node's clients whose id, user, address or a topic contains `q`
 * (case-insensitive; empty matches all), oldest first: one walk of the live
 * map, views built only for the first `limit`.
 */
export function searchClients(registry: ClientRegistryService, q: string, limit: number): StatusClientsPage {
  const needle = q.toLowerCase();
  const items: StatusClientsPage['items'] = [];
  let matched = 0;
  for (const record of registry.values()) {
    if (needle !== '') {
      const hit =
        record.id.includes(needle) ||
        (record.userId?.toLowerCase().includes(needle) ?? false) ||
        (record.remoteAddress?.toLowerCase().includes(needle) ?? false) ||
        (record.resources?.some((r) => r.name.startsWith(TOPIC_RESOURCE) && r.name.slice(TOPIC_RESOURCE.length).toLowerCase().includes(needle)) ??
          false);
      if (!hit) continue;
    }
    if (matched++ < limit) items.push(toClientView(record));
  }
  return { items, total: registry.size, matched, limit, q };
}
