'use strict';
/**
 * One load-generator process (child_process.fork, IPC with 'advanced'
 * serialization). It holds at most a few thousand client sockets, since every
 * process here may open at most 20,000 files, and spreads their source
 * addresses over 127.0.0.2 ... 127.0.0.K so no single address runs out of
 * ephemeral ports.
 *
 * Client kinds:
 *   ws   `ws` WebSocket speaking Lifeline's `{event, data}` frames
 *   eio  Socket.IO v5 / engine.io v4 spoken by a raw `ws` client: the same
 *        frames socket.io-client sends, at the cost of a `ws` client. Also
 *        the only way to make a Socket.IO zombie: socket.io-client runs its
 *        own ping timer and would close a muted connection by itself
 *   sio  socket.io-client 4, transports: ['websocket'], no reconnection
 *        (--sio-client=official)
 *
 * Requests: { id, cmd, args }; answers: { id, ok, result | error }.
 */
const { createHmac } = require('node:crypto');
const net = require('node:net');
const { performance } = require('node:perf_hooks');
const { WebSocket } = require('ws');

/** Epoch ms with sub-ms resolution, comparable across processes on this machine. */
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let config; // { kind, url, addresses, index, auth? }
let addressCursor = 0;
/** Users handed out by this worker (auth.jwtSecret set: one user per client). */
let userCursor = 0;
/** Live clients (connect command). */
const clients = [];
let publisher;
/** Non-zombie clients whose connection ended without us asking. */
let unexpectedCloses = 0;
let closingAll = false;

const fanout = { armed: false, received: 0, firstAt: 0, lastAt: 0, latencies: new Float64Array(1 << 16), n: 0 };

function recordDelivery(sentAt) {
  if (!fanout.armed) return;
  const t = now();
  if (fanout.received === 0) fanout.firstAt = t;
  fanout.lastAt = t;
  fanout.received++;
  if (fanout.n === fanout.latencies.length) {
    const bigger = new Float64Array(fanout.latencies.length * 2);
    bigger.set(fanout.latencies);
    fanout.latencies = bigger;
  }
  fanout.latencies[fanout.n++] = t - sentAt;
}

const base64url = (text) => Buffer.from(text).toString('base64url');

/**
 * `Authorization` header of a new client when the server wants a JWT: HS256,
 * a user of its own (`sub`) and an `exp` an hour ahead, as an app's login
 * would issue. Signed here with node:crypto (a few µs each).
 */
function authHeaders() {
  const secret = config.auth?.jwtSecret;
  if (!secret) return undefined;
  const header = base64url('{"alg":"HS256","typ":"JWT"}');
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const payload = base64url(JSON.stringify({ sub: `user-${config.index}-${userCursor++}`, exp }));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return { authorization: `Bearer ${header}.${payload}.${signature}` };
}

function nextAddress() {
  const { addresses } = config;
  const address = addresses[addressCursor % addresses.length];
  addressCursor++;
  return address;
}

// ---------------------------------------------------------------------------
// Clients. Each exposes: ready (Promise<number> connect latency ms, resolves
// once connected *and* welcomed), subscribe(topic), publish(topic, data),
// mute(), destroy(rst), close(), and flags zombie / closed.
// ---------------------------------------------------------------------------

class WsClient {
  constructor(url, { raw = false, timeoutMs }) {
    this.raw = raw; // engine.io framing
    this.zombie = false;
    this.closed = false;
    this.socket = undefined;
    this.onSubscribed = undefined;
    const started = now();
    let connectedAt;
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = () => resolve(connectedAt - started);
      this.rejectReady = reject;
    });
    const target = raw ? `${url}/socket.io/?EIO=4&transport=websocket` : url;
    const ws = new WebSocket(target, {
      perMessageDeflate: false,
      headers: raw ? undefined : authHeaders(),
      localAddress: nextAddress(),
      handshakeTimeout: timeoutMs,
      // Keep a handle on the TCP socket, to destroy it without a close frame.
      createConnection: (options) => {
        options.path = options.socketPath; // as ws's own netConnect does
        this.socket = net.connect(options);
        return this.socket;
      },
    });
    this.ws = ws;
    ws.on('open', () => {
      if (!raw) connectedAt = now(); // socket.io: connected at the CONNECT ack
    });
    ws.on('message', (data) => this.onMessage(data, () => (connectedAt = now())));
    ws.on('ping', () => this.onPing());
    ws.on('error', (err) => this.rejectReady(err));
    ws.on('close', () => {
      this.closed = true;
      this.closedAt = now();
      this.rejectReady(new Error('closed before welcome'));
      if (this.live && !this.zombie && !closingAll) unexpectedCloses++;
    });
  }

  onMessage(data, markConnected) {
    const text = data.toString();
    let event;
    let body;
    if (this.raw) {
      switch (text[0]) {
        case '0': // engine.io OPEN: join the main namespace
          return this.ws.send('40');
        case '2': // engine.io PING; a muted zombie never answers
          this.onPing();
          return this.muted ? undefined : this.ws.send('3');
        case '4':
          if (text[1] === '0') return markConnected(); // socket.io CONNECT ack
          if (text[1] !== '2') return;
          [event, body] = JSON.parse(text.slice(2));
          break;
        default:
          return;
      }
    } else {
      const frame = JSON.parse(text);
      event = frame.event;
      body = frame.data;
    }
    switch (event) {
      case 'welcome':
        return this.resolveReady();
      case 'subscribed':
        return this.onSubscribed?.();
      case 'message':
        return recordDelivery(body.data.t);
    }
  }

  /** A zombie notes the first ping after its death: the heartbeat's two halves can then be told apart. */
  onPing() {
    if (this.diedAt !== undefined && this.firstPingAfterDeath === undefined) this.firstPingAfterDeath = now();
  }

  send(event, data) {
    this.ws.send(this.raw ? `42${JSON.stringify([event, data])}` : JSON.stringify({ event, data }));
  }

  subscribe(topic) {
    return new Promise((resolve) => {
      this.onSubscribed = resolve;
      this.send('subscribe', { topic });
    });
  }

  publish(topic, data) {
    this.send('publish', { topic, data });
  }

  /**
   * Never answer a ping again, but keep reading, so the moment the server
   * drops the connection is seen here. ws has no public switch for this
   * after construction (the autoPong option); its field is the one it reads.
   */
  mute() {
    this.zombie = true;
    if (this.raw) this.muted = true;
    else if ('_autoPong' in this.ws) this.ws._autoPong = false;
    else this.ws.pause(); // older ws: stop reading altogether
  }

  /** Drop the TCP connection without a close frame: FIN, or RST with rst. */
  destroy(rst = false) {
    this.zombie = true;
    if (!this.socket) return this.ws.terminate();
    if (rst && typeof this.socket.resetAndDestroy === 'function') this.socket.resetAndDestroy();
    else this.socket.destroy();
  }
}

let ioClient;
class SioClient {
  constructor(url, { timeoutMs }) {
    ioClient ??= require('socket.io-client').io;
    this.zombie = false;
    this.closed = false;
    this.onSubscribed = undefined;
    const started = now();
    let connectedAt;
    const s = ioClient(url, {
      transports: ['websocket'],
      forceNew: true, // one engine.io connection per client, no multiplexing
      reconnection: false,
      perMessageDeflate: false,
      localAddress: nextAddress(),
      timeout: timeoutMs,
    });
    this.s = s;
    this.ready = new Promise((resolve, reject) => {
      s.on('connect', () => (connectedAt = now()));
      s.on('welcome', () => resolve(connectedAt - started));
      s.on('connect_error', reject);
      s.on('disconnect', () => {
        this.closed = true;
        this.closedAt = now();
        reject(new Error('disconnected before welcome'));
        if (this.live && !this.zombie && !closingAll) unexpectedCloses++;
      });
    });
    s.on('subscribed', () => this.onSubscribed?.());
    s.on('message', (body) => recordDelivery(body.data.t));
  }

  subscribe(topic) {
    return new Promise((resolve) => {
      this.onSubscribed = resolve;
      this.s.emit('subscribe', { topic });
    });
  }

  publish(topic, data) {
    this.s.emit('publish', { topic, data });
  }

  /** The ws WebSocket and TCP socket under socket.io-client (private fields). */
  get socket() {
    return this.s.io?.engine?.transport?.ws?._socket;
  }

  mute() {
    throw new Error('use the eio client kind for muted Socket.IO zombies');
  }

  destroy(rst = false) {
    this.zombie = true;
    const socket = this.socket;
    if (!socket) return this.s.disconnect();
    if (rst && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket.destroy();
  }
}

function createClient(timeoutMs) {
  switch (config.kind) {
    case 'ws':
      return new WsClient(config.url, { timeoutMs });
    case 'eio':
      return new WsClient(config.url, { raw: true, timeoutMs });
    case 'sio':
      return new SioClient(config.url, { timeoutMs });
    default:
      throw new Error(`unknown client kind ${config.kind}`);
  }
}

/** Runs task(i) for i < count with at most `concurrency` in flight. */
function pool(count, concurrency, task) {
  return new Promise((resolve) => {
    if (count === 0) return resolve();
    let started = 0;
    let done = 0;
    const launch = () => {
      while (started < count && started - done < concurrency) {
        const i = started++;
        Promise.resolve()
          .then(() => task(i))
          .catch(() => undefined)
          .finally(() => {
            done++;
            if (done === count) resolve();
            else launch();
          });
      }
    };
    launch();
  });
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

const commands = {
  init(args) {
    config = args;
    addressCursor = args.index; // workers start on different addresses
    return { pid: process.pid };
  },

  /** Opens `count` clients; latency per client in ms (NaN when it failed). */
  async connect({ count, concurrency, timeoutMs = 30_000 }) {
    const latencies = new Float64Array(count).fill(Number.NaN);
    const errors = new Map();
    let failed = 0;
    const startedAt = Date.now();
    await pool(count, concurrency, async (i) => {
      const client = createClient(timeoutMs);
      try {
        latencies[i] = await withTimeout(client.ready, timeoutMs, 'connect');
        client.live = true;
        clients.push(client);
      } catch (err) {
        failed++;
        errors.set(err.message, (errors.get(err.message) || 0) + 1);
        client.destroy();
      }
    });
    return { opened: count - failed, failed, errors: Object.fromEntries(errors), latencies, startedAt, endedAt: Date.now() };
  },

  /** Subscribes every open client to the topic and waits for the acks. */
  async subscribe({ topic, concurrency = 500, timeoutMs = 60_000 }) {
    let subscribed = 0;
    const started = now();
    const live = clients.filter((c) => !c.closed && !c.zombie);
    await pool(live.length, concurrency, async (i) => {
      await withTimeout(live[i].subscribe(topic), timeoutMs, 'subscribe');
      subscribed++;
    });
    return { subscribed, ms: now() - started };
  },

  async 'open-publisher'({ timeoutMs = 30_000 }) {
    publisher = createClient(timeoutMs);
    await withTimeout(publisher.ready, timeoutMs, 'publisher connect');
    return {};
  },

  'fanout-arm'() {
    Object.assign(fanout, { armed: true, received: 0, firstAt: 0, lastAt: 0, n: 0 });
    return {};
  },

  'fanout-status'() {
    return { received: fanout.received, subscribers: clients.filter((c) => !c.closed).length };
  },

  'fanout-collect'() {
    fanout.armed = false;
    return {
      received: fanout.received,
      firstAt: fanout.firstAt,
      lastAt: fanout.lastAt,
      latencies: fanout.latencies.slice(0, fanout.n),
      cpu: process.cpuUsage(),
    };
  },

  /** Publishes `messages` frames, one every paceMs (0: back to back). */
  async publish({ topic, messages, paceMs }) {
    if (!publisher) throw new Error('no publisher on this worker');
    const firstAt = now();
    for (let seq = 0; seq < messages; seq++) {
      publisher.publish(topic, { seq, t: now() });
      if (paceMs > 0 && seq < messages - 1) await sleep(paceMs);
    }
    return { firstAt, lastAt: now() };
  },

  /**
   * Turns `count` healthy clients into zombies: 'mute' (never answer a ping
   * again) or 'destroy' (TCP socket destroyed, no close frame). Each dies at
   * a uniformly random moment within spreadMs (0: all at once).
   */
  zombify({ count, mode, spreadMs = 0 }) {
    const victims = [];
    for (let i = clients.length - 1; i >= 0 && victims.length < count; i--) {
      const c = clients[i];
      if (!c.closed && !c.zombie) victims.push(c);
    }
    for (const c of victims) {
      c.zombie = true;
      c.zombieMode = mode;
      const die = () => {
        c.diedAt = now();
        if (mode === 'mute') c.mute();
        else c.destroy(false);
      };
      if (spreadMs > 0) setTimeout(die, Math.random() * spreadMs);
      else die();
    }
    return { at: Date.now(), zombified: victims.length };
  },

  /** Muted zombies: ms from death to the server closing the connection, and how many are still open. */
  'zombie-report'({ mode = 'mute' }) {
    const times = [];
    const toPing = [];
    const pingToClose = [];
    let open = 0;
    let unborn = 0;
    for (const c of clients) {
      if (!c.zombie || c.zombieMode !== mode) continue;
      if (c.diedAt === undefined) unborn++;
      else if (c.closedAt !== undefined) times.push(c.closedAt - c.diedAt);
      else open++;
      if (c.diedAt !== undefined && c.firstPingAfterDeath !== undefined) {
        toPing.push(c.firstPingAfterDeath - c.diedAt);
        if (c.closedAt !== undefined) pingToClose.push(c.closedAt - c.firstPingAfterDeath);
      }
    }
    const f64 = (a) => Float64Array.from(a);
    return { times: f64(times), toPing: f64(toPing), pingToClose: f64(pingToClose), open, unborn };
  },

  /** Ends the zombies' connections the server kept. */
  'bury-zombies'() {
    let n = 0;
    for (const c of clients) {
      if (c.zombie && !c.closed) {
        c.destroy(false);
        n++;
      }
    }
    return { buried: n };
  },

  health() {
    let open = 0;
    let zombies = 0;
    for (const c of clients) {
      if (c.zombie) zombies++;
      else if (!c.closed) open++;
    }
    return { open, zombies, unexpectedCloses, cpu: process.cpuUsage(), rss: process.memoryUsage().rss };
  },

  /**
   * Connect -> welcome -> abrupt disconnect (TCP FIN and RST alternately,
   * never a close frame), `cycles` times, at most `concurrency` at once.
   */
  async churn({ cycles, concurrency, timeoutMs = 30_000 }) {
    let completed = 0;
    let failed = 0;
    const errors = new Map();
    const started = now();
    await pool(cycles, concurrency, async (i) => {
      const client = createClient(timeoutMs);
      try {
        await withTimeout(client.ready, timeoutMs, 'connect');
        completed++;
      } catch (err) {
        failed++;
        errors.set(err.message, (errors.get(err.message) || 0) + 1);
      } finally {
        client.destroy(i % 2 === 1);
      }
    });
    return { completed, failed, errors: Object.fromEntries(errors), ms: now() - started };
  },

  exit() {
    closingAll = true;
    // Reset, not close: a closed client's socket would sit in TIME_WAIT for 60 s, and the kernel
    // expires thousands of those at once in a timer softirq on the server's CPU, in the next run
    // (17 ms inside one of Lifeline's turns under perf, 2026-12-01).
    for (const c of clients) {
      if (c.closed || c.zombie) continue;
      try {
        c.destroy(true);
      } catch {
        // already gone
      }
    }
    setImmediate(() => process.exit(0));
    return {};
  },
};

process.on('message', (msg) => {
  if (!msg || typeof msg.cmd !== 'string') return;
  const command = commands[msg.cmd];
  Promise.resolve()
    .then(() => {
      if (!command) throw new Error(`unknown worker command ${msg.cmd}`);
      return command(msg.args || {});
    })
    .then(
      (result) => process.send({ id: msg.id, ok: true, result }),
      (err) => process.send({ id: msg.id, ok: false, error: String((err && err.stack) || err) }),
    );
});
process.on('disconnect', () => process.exit(0));
