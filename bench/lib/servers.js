'use strict';
/**
 * The servers of every run (the fifth, Lifeline with users, sessions and
 * presence, in the idle scenario only: `scenarios`). `env` maps the scenario's heartbeat
 * ({ intervalMs, timeoutMs }) onto each server's own settings; `deadline`
 * says by when each promises to drop a peer that stopped answering, from the
 * moment it stopped.
 */

/** HS256 secret of the users variant: the load generators sign one JWT per client with it. */
const BENCH_JWT_SECRET = 'lifeline-bench-secret-not-for-production-use-0123456789';

/**
 * The environment `npm start` adds for the service (package.json's start
 * script, `VAR=${VAR:-default}` pairs; the image sets the same, which
 * test/deploy.e2e-spec.ts holds equal): the bench measures Lifeline as
 * shipped, and a value set around the bench wins, as it does for npm start.
 */
function shippedEnv() {
  const start = require('../../package.json').scripts.start;
  return Object.fromEntries([...start.matchAll(/\b(\w+)=\$\{\1:-([^}]*)\}/g)].map(([, name, value]) => [name, process.env[name] || value]));
}

const lifelineEnv = ({ intervalMs, timeoutMs, sessionTtlMs }) => ({
  ...shippedEnv(),
  HEARTBEAT_INTERVAL_MS: String(intervalMs),
  HEARTBEAT_TIMEOUT_MS: String(timeoutMs),
  LOG_LEVEL: 'warn',
  // The churn scenario shortens the session TTL so that its leak check can wait sessions out.
  ...(sessionTtlMs !== undefined && { SESSION_TTL_MS: String(sessionTtlMs) }),
});

const SERVERS = [
  {
    id: 'lifeline',
    lifeline: true,
    label: 'Lifeline',
    entry: 'dist/main.js',
    client: 'ws',
    zombieClient: 'ws',
    countFromHealth: true,
    heartbeat: 'protocol ping per client, sliced sweep (every interval); each ping reaped at its own ping + timeout (FIFO, one timer)',
    env: lifelineEnv,
    url: (port) => `ws://127.0.0.1:${port}/ws`,
    deadline: ({ intervalMs, timeoutMs }) => intervalMs + timeoutMs,
    deadlineText: 'interval + timeout (+ one sweep)',
  },
  {
    // What a connection of a signed-in user costs with every feature on:
    // each client its own user (JWT `sub`, an `exp` an hour ahead), so each
    // is one user-presence member and holds one session (SESSION_TTL_MS > 0).
    id: 'lifeline-users',
    lifeline: true,
    label: 'Lifeline, users + sessions + presence',
    entry: 'dist/main.js',
    client: 'ws',
    zombieClient: 'ws',
    countFromHealth: true,
    scenarios: ['idle'],
    auth: { jwtSecret: BENCH_JWT_SECRET },
    heartbeat: 'as Lifeline',
    env: (hb) => ({
      ...lifelineEnv(hb),
      AUTH_MODE: 'jwt',
      AUTH_JWT_SECRET: BENCH_JWT_SECRET,
      SESSION_TTL_MS: '120000',
      PRESENCE_GRACE_MS: '5000',
      // Any signed-in user may use any topic: the bench asks for no policy.
      TOPIC_POLICY: 'open',
    }),
    url: (port) => `ws://127.0.0.1:${port}/ws`,
    deadline: ({ intervalMs, timeoutMs }) => intervalMs + timeoutMs,
    deadlineText: 'interval + timeout (+ one sweep)',
  },
  {
    id: 'plain-ws',
    label: 'plain ws',
    entry: 'bench/servers/plain-ws.js',
    client: 'ws',
    zombieClient: 'ws',
    heartbeat: 'ws README recipe: isAlive flag, one setInterval, terminate()',
    env: ({ intervalMs }) => ({ HEARTBEAT_INTERVAL_MS: String(intervalMs) }),
    url: (port) => `ws://127.0.0.1:${port}/ws`,
    // Muted just after a sweep: its flag is reset at the next one and checked at the one after.
    deadline: ({ intervalMs }) => 2 * intervalMs,
    deadlineText: '2 × interval',
  },
  {
    id: 'socketio',
    label: 'Socket.IO',
    entry: 'bench/servers/socketio.js',
    // The Socket.IO v5 / engine.io v4 protocol spoken by a raw `ws` client
    // (same frames on the wire as socket.io-client, at the client cost of
    // the other servers' clients). socket.io-client itself (--sio-client=official)
    // is heavy enough that 19,000 of them on one shared core answer a 1 s
    // ping too late, and the server drops healthy clients.
    client: 'eio',
    zombieClient: 'eio',
    heartbeat: 'engine.io ping per socket (own timer), pingInterval = interval, pingTimeout = timeout',
    env: ({ intervalMs, timeoutMs }) => ({
      HEARTBEAT_INTERVAL_MS: String(intervalMs),
      HEARTBEAT_TIMEOUT_MS: String(timeoutMs),
    }),
    url: (port, kind) => (kind === 'sio' ? `http://127.0.0.1:${port}` : `ws://127.0.0.1:${port}`),
    deadline: ({ intervalMs, timeoutMs }) => intervalMs + timeoutMs,
    deadlineText: 'pingInterval + pingTimeout',
  },
  {
    id: 'nest-wsadapter',
    label: 'Nest WsAdapter',
    entry: 'bench/servers/nest-wsadapter.js',
    client: 'ws',
    zombieClient: 'ws',
    heartbeat: 'none',
    env: () => ({}),
    url: (port) => `ws://127.0.0.1:${port}/ws`,
    deadline: () => Number.POSITIVE_INFINITY,
    deadlineText: 'never (no heartbeat)',
  },
];

const BASELINE = 'plain-ws';

module.exports = { SERVERS, BASELINE, shippedEnv };
