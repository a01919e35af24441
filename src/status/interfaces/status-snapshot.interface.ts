/**
 * What the status feed sends. Shared by the server and the page (type-only
 * imports: no runtime code, nothing Node- or DOM-specific).
 */
import type { ClientView } from '../../admin/client-view.interface';

/** Counts per second, oldest first: `seconds[i]` is an epoch second, `series[key][i]` its count. */
export interface PerSecondSeries {
  seconds: number[];
  series: Record<string, number[]>;
}

/** One figure of a generic section, e.g. a metric sample. */
export interface StatusRow {
  name: string;
  labels?: Record<string, string>;
  value: number | string | null;
  help?: string;
}

/** A block of figures another feature contributes (see StatusFeed.addSection). */
export interface StatusSectionSnapshot {
  id: string;
  title: string;
  rows: StatusRow[];
}

export interface ClusterNodeStatus {
  id: string;
  /** This node. */
  self: boolean;
  /** Time since the lease was last renewed; null when the lease is gone (lost, not yet reaped). */
  leaseAgeMs: number | null;
  /** Entries in the node's presence hash. */
  clients: number;
}

export interface ClusterStatus {
  nodeId: string;
  /** Both Redis connections ready. */
  redis: 'up' | 'down';
  /** Why the view is empty or stale, if it is. */
  message: string | null;
  nodeTtlMs: number;
  /** Members of the node set, live or not; empty while Redis is down. */
  nodes: ClusterNodeStatus[];
  /** Clients on nodes with a live lease; null while Redis is down. */
  clients: number | null;
}

export interface HeartbeatSnapshot {
  intervalMs: number;
  timeoutMs: number;
  /** Epoch ms of the last completed sweep. */
  lastSweepAt: number | null;
  sinceLastSweepMs: number;
  /** False when no sweep completed for more than 2 x interval + timeout (as /health says). */
  healthy: boolean;
  lastSweep: { durationMs: number; longestSliceMs: number; clients: number; pinged: number; reaped: number } | null;
  sweepsTotal: number;
  /** Round trips from lifeline_heartbeat_rtt_seconds: over the last `windowS` seconds, or since start (windowS null). */
  rtt: { p50Ms: number | null; p99Ms: number | null; samples: number; windowS: number | null };
  reapsByReason: Record<string, number>;
  /** lifeline_pings_to_closed_total: must be 0. */
  pingsToClosed: number;
}

export interface StatusSnapshot {
  /** Epoch ms when the sample was taken. */
  at: number;
  node: { id: string | null; pid: number; uptimeS: number; nodeVersion: string; accepting: boolean };
  /** CPU (% of one core) and event-loop utilisation (%) since the previous sample; null on the first. */
  process: { cpuPercent: number | null; rssBytes: number; heapUsedBytes: number; eventLoopUtilization: number | null };
  clients: {
    local: number;
    /** Cluster-wide (live leases); null in the in-memory mode or while Redis is down. */
    cluster: number | null;
    /** In the last completed second. */
    connectsPerSec: number;
    disconnectsPerSec: number;
    connectsTotal: number;
    disconnectsTotal: number;
  };
  /** lifeline_disconnections_total by reason, since start. */
  disconnectsByReason: Record<string, number>;
  /** The last few seconds of connects and disconnects by reason (merged by the page into its chart). */
  recent: { connects: PerSecondSeries; disconnects: PerSecondSeries };
  heartbeat: HeartbeatSnapshot;
  trouble: {
    cleanupFailuresByStep: Record<string, number>;
    slowConsumers: number;
    rateLimitedMessages: number;
    rejectionsByReason: Record<string, number>;
  };
  cluster: ClusterStatus | null;
  /** Generic sections (sessions, history, presence, …): present once their metrics exist. */
  sections: StatusSectionSnapshot[];
  /** Open status feeds on this node. */
  viewers: number;
}

/** The first event of a feed: the history the node kept, so the charts are not empty. */
export interface StatusHello {
  sampleIntervalMs: number;
  historySeconds: number;
  connects: PerSecondSeries;
  disconnects: PerSecondSeries;
  /** Whether the operator API asks for a token (false: open, e.g. no ADMIN_TOKEN). */
  authRequired: boolean;
}

/** GET /status/clients: one page of this node's clients matching a search. */
export interface StatusClientsPage {
  items: ClientView[];
  /** Clients on this node. */
  total: number;
  /** Clients matching the search (items holds the first `limit` of them). */
  matched: number;
  limit: number;
  q: string;
}
