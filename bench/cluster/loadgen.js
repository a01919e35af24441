'use strict';
/**
 * One load-generator process of the cluster benchmark (child_process.fork,
 * IPC with 'advanced' serialization). It holds at most a few thousand
 * Lifeline clients (every process here may open at most 20,000 files) and
 * spreads their source addresses over 127.0.0.x.
 *
 * Requests { id, cmd, args } are answered with { id, ok, result | error }.
 *   connect   { url, count, addresses, concurrency, timeoutMs } -> { connected, ms }
 *   subscribe { topic }                                         -> { subscribed }
 *   prune     {}  drop clients whose connection ended          -> { closed, live }
 *   arm       {}  start counting 'message' frames              -> {}
 *   count     {}  deliveries so far                             -> { received, lastAt }
 *   fanout    { expected } what arrived since arm (and disarm)  -> { received, latencies, exact, clients }
 *   stats     {}                                                -> { live, unexpectedCloses }
 *   closeAll  {}                                                -> {}
 */
const { performance } = require('node:perf_hooks');
const { WebSocket } = require('ws');

const now = () => performance.timeOrigin + performance.now();

/** Live clients. */
let clients = [];
let addressCursor = 0;
let closingAll = false;
let unexpectedCloses = 0;
const fanout = { armed: false, received: 0, lastAt: 0, latencies: new Float64Array(1 << 16) };

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

function connectOne(url, address, timeoutMs) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: address, handshakeTimeout: timeoutMs });
    const client = { ws, closed: false, onSubscribed: undefined, got: 0, lastSeq: -1, disorder: 0 };
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('no welcome in time'));
    }, timeoutMs);
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString());
      switch (frame.event) {
        case 'welcome':
          clearTimeout(timer);
          client.id = frame.data.clientId;
          resolve(client);
          return;
        case 'subscribed':
          client.onSubscribed?.();
          return;
        case 'message':
          if (fanout.armed) {
            const { seq } = frame.data.data;
            if (seq <= client.lastSeq) client.disorder++;
            client.lastSeq = seq;
            client.got++;
          }
          record(frame.data.data.t);
          return;
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

async function connect({ url, count, addresses, concurrency = 200, timeoutMs = 20_000 }) {
  const started = now();
  let next = 0;
  let failures = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const address = addresses[addressCursor++ % addresses.length];
      try {
        clients.push(await connectOne(url, address, timeoutMs));
      } catch {
        failures++;
        if (failures > count * 0.01 + 10) throw new Error(`too many failed connects (${failures})`);
        next--; // try again
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { connected: count, failures, ms: now() - started };
}

async function subscribe({ topic }) {
  const live = clients.filter((c) => !c.closed);
  await Promise.all(
    live.map(
      (c) =>
        new Promise((resolve) => {
          c.onSubscribed = resolve;
          c.ws.send(JSON.stringify({ event: 'subscribe', data: { topic } }));
        }),
    ),
  );
  return { subscribed: live.length };
}

const handlers = {
  connect,
  subscribe,
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
    return { live: clients.filter((c) => !c.closed).length, unexpectedCloses };
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
