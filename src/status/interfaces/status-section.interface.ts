import type { StatusRow } from './status-snapshot.interface';

/**
 * A section another module adds to the status page:
 * `statusFeed.addSection({ id: 'sessions', title: 'Sessions', sample: () => rows })`.
 * sample() runs once per second, and only while someone watches; keep it
 * cheap (read counters, never walk every client).
 */
export interface StatusSection {
  id: string;
  title: string;
  sample(): StatusRow[] | Promise<StatusRow[]>;
}
