'use strict';
/**
 * One load-generator process of the multi-node benches (bench/cluster/run.js,
 * bench/presence/run.js), forked with IPC ('advanced' serialization). It holds
 * at most ~10,000 Lifeline clients (every process here may open 20,000
 * files) and spreads their source addresses over 127.0.0.x.
 *
 * Requests { id, cmd, args } are answered with { id, ok, result | error }.
 *   connect   { url, count, addresses, concurrency, timeoutMs, autoPong, users }
 *             users = { prefix, from, secret }: client i connects as user `${prefix}${from + i}` (JWT)
 *             -> { connected, failures, ms, handshakeMs: Float64Array, connectedAt: [[userId, epochMs]] }
 *   subscribe { topic, presence, spreadMs, timeoutMs, concurrency } spreadMs: spread the subscribes evenly
 *             over it; concurrency: at most this many replies outstanding
 *             -> { subscribed, errors, timedOut, ms }
 *   watch     { needle } count presence frames/bytes from now; note when each client first gets
 *             a presence frame containing needle                -> {}
 *   presence  {}  -> { clients, frames, bytes, saw, firstSawAt, lastSawAt }
 *   prune     {}  drop clients whose connection ended          -> { closed, live }
 *   arm       {}  start counting 'message' frames              -> {}
 *   count     {}  deliveries so far                             -> { received, lastAt }
 *   fanout    { expected } what arrived since arm (and disarm)  -> { received, latencies, exact, clients }
 *   stats     {}                                                -> { live, unexpectedCloses, openFiles, rssBytes }
 *   closeAll  {}                                                -> {}
 */
const fs = require('node:fs');
const { performance } = require('node:perf_hooks');
const { sign } = require('jsonwebtoken');
const { WebSocket } = require('ws');

const now = () => performance.timeOrigin + performance.now();

/** Live clients. */
let clients = [];
let addressCursor = 0;
let closingAll = false;
let unexpectedCloses = 0;
const fanout = { armed: false, received: 0, lastAt: 0, latencies: new Float64Array(1 << 16) };
/** Presence frames since `watch`; frames are not parsed (a snapshot or batch can be hundreds of KB). */
const presence = { needle: undefined, frames: 0, bytes: 0 };

function record(sentAt) {
  if (!fanout.armed) return;
  if (fanout.received === fanout.latencies.length) {
    const bigger = new Float64Array(fanout.latencies.length * 2);
    bigger.set(fanout.latencies);
    fanout.latencies = bigger;
  }
  const t = now();
  fanout.lastAt = t;
  fanout.latencies[fanout.received++] = t - sentAt;
}

// Every frame Lifeline sends starts with {"event":"<name>"; read the name from the first bytes.
const EVENT_AT = '{"event":"'.length;
function eventOf(raw) {
  const end = raw.indexOf(34 /* " */, EVENT_AT);
  return end > 0 ? raw.toString('latin1', EVENT_AT, end) : '';
}

function connectOne(url, address, timeoutMs, autoPong, userId) {
  return new Promise((resolve, reject) => {
    const started = now();
    const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: address, handshakeTimeout: timeoutMs, autoPong });
    const client = { ws, userId, closed: false, onSubscribed: undefined, got: 0, lastSeq: -1, disorder: 0, sawAt: 0, handshakeMs: 0 };
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('no welcome in time'));
    }, timeoutMs);
    ws.on('message', (raw) => {
      switch (eventOf(raw)) {
        case 'welcome':
          clearTimeout(timer);
          client.id = JSON.parse(raw.toString()).data.clientId;
          client.handshakeMs = now() - started;
          resolve(client);
          return;
        case 'subscribed':
          client.onSubscribed?.(true);
          return;
        case 'error':
          client.onSubscribed?.(false);
          return;
        case 'presence':
          presence.frames++;
          presence.bytes += raw.length;
          if (presence.needle && client.sawAt === 0 && raw.indexOf(presence.needle) >= 0) client.sawAt = now();
          return;
        case 'message': {
          const frame = JSON.parse(raw.toString());
          if (fanout.armed) {
            const { seq } = frame.data.data;
            if (seq <= client.lastSeq) client.disorder++;
            client.lastSeq = seq;
            client.got++;
          }
          record(frame.data.data.t);
          return;
        }
      }
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on('close', () => {
      clearTimeout(timer);
      if (!client.closed && !closingAll && client.id) unexpectedCloses++;
      client.closed = true;
      reject(new Error('closed before welcome'));
    });
  });
}

async function connect({ url, count, addresses, concurrency = 50, timeoutMs = 60_000, autoPong = true, users }) {
  const started = now();
  const fresh = [];
  let next = 0;
  let failures = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const address = addresses[addressCursor++ % addresses.length];
      const userId = users ? `${users.prefix}${users.from + i}` : undefined;
      const target = users ? `${url}?access_token=${sign({ sub: userId }, users.secret)}` : url;
      for (;;) {
        try {
          const client = await connectOne(target, address, timeoutMs, autoPong, userId);
          client.connectedAt = Date.now();
          fresh.push(client);
          break;
        } catch {
          failures++;
          if (failures > count * 0.01 + 10) throw new Error(`too many failed connects (${failures})`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  clients.push(...fresh);
  return {
    connected: fresh.length,
    failures,
    ms: now() - started,
    handshakeMs: Float64Array.from(fresh, (c) => c.handshakeMs),
    connectedAt: users ? fresh.map((c) => [c.userId, c.connectedAt]) : [],
  };
}

async function subscribe({ topic, presence: withPresence = false, spreadMs = 0, timeoutMs = 60_000, concurrency = Infinity }) {
  const started = now();
  const live = clients.filter((c) => !c.closed);
  const frame = JSON.stringify({ event: 'subscribe', data: withPresence ? { topic, presence: true } : { topic } });
  let errors = 0;
  let timedOut = 0;
  const one = (c, i) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timedOut++;
        resolve();
      }, timeoutMs + spreadMs);
      c.onSubscribed = (ok) => {
        c.onSubscribed = undefined;
        if (!ok) errors++;
        clearTimeout(timer);
        resolve();
      };
      const send = () => c.ws.readyState === WebSocket.OPEN && c.ws.send(frame);
      if (spreadMs > 0) setTimeout(send, (i * spreadMs) / live.length);
      else send();
    });
  if (concurrency >= live.length) {
    await Promise.all(live.map(one));
  } else {
    // At most `concurrency` replies outstanding: a presence snapshot of 10,000 members is
    // ~500 KB, and thousands of them in flight at once only measure the garbage collector.
    let next = 0;
    const worker = async () => {
      while (next < live.length) {
        const i = next++;
        await one(live[i], i);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }
  return { subscribed: live.length - errors - timedOut, errors, timedOut, ms: now() - started };
}

const handlers = {
  connect,
  subscribe,
  watch({ needle }) {
    presence.needle = needle ? Buffer.from(needle) : undefined;
    presence.frames = 0;
    presence.bytes = 0;
    for (const c of clients) c.sawAt = 0;
    return {};
  },
  presence() {
    const live = clients.filter((c) => !c.closed);
    const saw = live.filter((c) => c.sawAt > 0).map((c) => c.sawAt);
    return {
      clients: live.length,
      frames: presence.frames,
      bytes: presence.bytes,
      saw: saw.length,
      firstSawAt: saw.length ? Math.min(...saw) : null,
      lastSawAt: saw.length ? Math.max(...saw) : null,
    };
  },
  prune() {
    const before = clients.length;
    clients = clients.filter((c) => !c.closed);
    return { closed: before - clients.length, live: clients.length };
  },
  arm() {
    fanout.armed = true;
    fanout.received = 0;
    fanout.lastAt = 0;
    for (const c of clients) {
      c.got = 0;
      c.lastSeq = -1;
      c.disorder = 0;
    }
    return {};
  },
  count() {
    return { received: fanout.received, lastAt: fanout.lastAt };
  },
  fanout({ expected }) {
    fanout.armed = false;
    const live = clients.filter((c) => !c.closed);
    return {
      received: fanout.received,
      latencies: fanout.latencies.slice(0, fanout.received),
      // Each live client must have every message exactly once, in publish order.
      exact: live.filter((c) => c.got === expected && c.disorder === 0).length,
      clients: live.length,
    };
  },
  stats() {
    return {
      live: clients.filter((c) => !c.closed).length,
      unexpectedCloses,
      openFiles: fs.readdirSync('/proc/self/fd').length,
      rssBytes: process.memoryUsage.rss(),
    };
  },
  closeAll() {
    closingAll = true;
    for (const c of clients) c.ws.terminate();
    clients = [];
    return {};
  },
};

process.on('message', async ({ id, cmd, args }) => {
  try {
    const result = await handlers[cmd](args ?? {});
    process.send({ id, ok: true, result });
  } catch (err) {
    process.send({ id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
});
// The parent is gone: nothing left to do.
process.on('disconnect', () => process.exit(0));
