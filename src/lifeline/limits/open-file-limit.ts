import { readFileSync } from 'node:fs';

/**
 * Every connection is a file descriptor. When a process runs out of them it
 * cannot accept anything, not even a health probe, so the default client cap
 * keeps a reserve below the open-file limit for HTTP, logs and Redis.
 */
export function defaultMaxClients(limit = openFileLimit()): number {
  const reserve = 100 + Math.ceil(limit * 0.02);
  return Math.max(1, limit - reserve);
}

/** The soft RLIMIT_NOFILE of this process (Linux), or 1024 when unknown. */
export function openFileLimit(): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (match && match[1] !== 'unlimited') return Number(match[1]);
  } catch {
    // Not Linux: fall through to the common default.
  }
  return 1024;
}
