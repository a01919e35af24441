/** Name of the feed's sampling timer in @nestjs/schedule's SchedulerRegistry (present only while someone watches). */
export const STATUS_FEED_TIMER_NAME = 'lifeline:status-feed';
/** One sample per second, shared by every viewer. */
export const STATUS_SAMPLE_INTERVAL_MS = 1000;
/** Seconds of connect/disconnect history kept (by the events themselves, no timer). */
export const STATUS_HISTORY_SECONDS = 600;
/** Seconds of history repeated in each sample, so counts that arrive late in a second are corrected. */
export const STATUS_RECENT_SECONDS = 5;
/** RTT percentiles cover at most this many seconds of samples. */
export const STATUS_RTT_WINDOW_SECONDS = 60;
/** Open feeds per node; more get 503 (each costs a write per second). */
export const STATUS_MAX_VIEWERS = 100;
/** A viewer whose unsent data grows past this is dropped (it stopped reading); its page reconnects. */
export const STATUS_MAX_VIEWER_BUFFER_BYTES = 512 * 1024;
/** Most clients one GET /status/clients returns. */
export const STATUS_CLIENTS_MAX_LIMIT = 500;

/**
 * Metrics shown generically by name prefix, so features built elsewhere
 * (sessions, history, presence) appear without the page knowing them.
 */
export const STATUS_METRIC_SECTIONS: readonly { id: string; title: string; prefixes: readonly string[] }[] = [
  { id: 'sessions', title: 'Sessions', prefixes: ['lifeline_sessions', 'lifeline_resume'] },
  { id: 'history', title: 'History', prefixes: ['lifeline_history_'] },
  { id: 'presence', title: 'Presence', prefixes: ['lifeline_presence_'] },
];
/** Clients the feed's list carries (oldest first); a search asks GET /status/clients. */
export const STATUS_CLIENT_LIST_LIMIT = 100;
/** The feed sends the client list every this many samples, or sooner after churn... */
export const STATUS_CLIENT_LIST_EVERY_SAMPLES = 5;
/** ...but never more often than every this many samples. */
export const STATUS_CLIENT_LIST_MIN_SAMPLES = 2;
