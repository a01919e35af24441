'use strict';
/**
 * The floor for Node: a bare `ws` server with the heartbeat recipe from the
 * ws README ("How to detect and close broken connections?"): an isAlive flag,
 * one interval, terminate(). It speaks the same `{event, data}` protocol as
 * Lifeline (welcome, subscribe, publish, ping) so the load is identical.
 *
 * Env: PORT, HOST (127.0.0.1), WS_PATH (/ws), HEARTBEAT_INTERVAL_MS (30000).
 */
const { randomUUID } = require('node:crypto');
const { WebSocketServer, WebSocket } = require('ws');

const port = Number(process.env.PORT);
const host = process.env.HOST || '127.0.0.1';
const path = process.env.WS_PATH || '/ws';
const intervalMs = Number(process.env.HEARTBEAT_INTERVAL_MS) || 30_000;

const wss = new WebSocketServer({ host, port, path });
/** topic -> Set<WebSocket>; publish is a loop over the set. */
const topics = new Map();

// --- the README recipe -----------------------------------------------------
function heartbeat() {
  this.isAlive = true;
}

wss.on('connection', function connection(ws) {
  ws.isAlive = true;
  ws.on('error', onError);
  ws.on('pong', heartbeat);
  ws.on('message', onMessage);
  ws.on('close', onClose);
  ws.send(JSON.stringify({ event: 'welcome', data: { clientId: randomUUID() } }));
});

const interval = setInterval(function ping() {
  wss.clients.forEach(function each(ws) {
    if (ws.isAlive === false) return ws.terminate();
    ws.isAlive = false;
    ws.ping();
  });
}, intervalMs);

wss.on('close', function close() {
  clearInterval(interval);
});
// ---------------------------------------------------------------------------

function onError() {
  // A reset peer; 'close' follows.
}

function onMessage(raw) {
  let frame;
  try {
    frame = JSON.parse(raw.toString());
  } catch {
    return;
  }
  const data = frame && frame.data;
  switch (frame && frame.event) {
    case 'ping':
      return this.send(JSON.stringify({ event: 'pong', data }));
    case 'subscribe': {
      const topic = String(data && data.topic);
      let set = topics.get(topic);
      if (!set) topics.set(topic, (set = new Set()));
      set.add(this);
      (this.topics ??= new Set()).add(topic);
      return this.send(JSON.stringify({ event: 'subscribed', data: { topic } }));
    }
    case 'publish': {
      const topic = String(data && data.topic);
      const set = topics.get(topic);
      if (!set) return;
      const out = JSON.stringify({ event: 'message', data: { topic, data: data.data } });
      for (const client of set) if (client.readyState === WebSocket.OPEN) client.send(out);
      return;
    }
  }
}

function onClose() {
  if (!this.topics) return;
  for (const topic of this.topics) {
    const set = topics.get(topic);
    if (!set) continue;
    set.delete(this);
    if (set.size === 0) topics.delete(topic);
  }
}

globalThis.__benchClientCount = () => wss.clients.size;
