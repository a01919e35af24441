'use strict';
/**
 * NestJS with @nestjs/platform-ws's WsAdapter as shipped and one minimal
 * gateway: no heartbeat, no registry, no cleanup beyond its own topic sets.
 * It shows what Lifeline adds on top of the stock adapter.
 *
 * Plain JS so the bench needs no compile step: the decorators are applied by
 * hand, exactly as TypeScript's emitted code would apply them. The handlers
 * take no parameter decorators, so Nest calls them as (client, data).
 *
 * Env: PORT, HOST (127.0.0.1), WS_PATH (/ws).
 */
require('reflect-metadata');
const { randomUUID } = require('node:crypto');
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { WsAdapter } = require('@nestjs/platform-ws');
const { SubscribeMessage, WebSocketGateway, WebSocketServer } = require('@nestjs/websockets');
const { WebSocket } = require('ws');

const port = Number(process.env.PORT);
const host = process.env.HOST || '127.0.0.1';
const path = process.env.WS_PATH || '/ws';

class BenchGateway {
  constructor() {
    /** topic -> Set<WebSocket> */
    this.topics = new Map();
  }

  handleConnection(client) {
    client.send(JSON.stringify({ event: 'welcome', data: { clientId: randomUUID() } }));
  }

  handleDisconnect(client) {
    if (!client.topics) return;
    for (const topic of client.topics) {
      const set = this.topics.get(topic);
      if (!set) continue;
      set.delete(client);
      if (set.size === 0) this.topics.delete(topic);
    }
  }

  ping(_client, data) {
    return { event: 'pong', data };
  }

  subscribe(client, body) {
    const topic = String(body && body.topic);
    let set = this.topics.get(topic);
    if (!set) this.topics.set(topic, (set = new Set()));
    set.add(client);
    (client.topics ??= new Set()).add(topic);
    return { event: 'subscribed', data: { topic } };
  }

  publish(_client, body) {
    const topic = String(body && body.topic);
    const set = this.topics.get(topic);
    if (!set) return;
    const out = JSON.stringify({ event: 'message', data: { topic, data: body.data } });
    for (const client of set) if (client.readyState === WebSocket.OPEN) client.send(out);
  }
}

// What `@WebSocketServer() server` and `@SubscribeMessage('x') x() {}` compile to.
WebSocketServer()(BenchGateway.prototype, 'server');
for (const name of ['ping', 'subscribe', 'publish']) {
  SubscribeMessage(name)(BenchGateway.prototype, name, Object.getOwnPropertyDescriptor(BenchGateway.prototype, name));
}
WebSocketGateway({ path })(BenchGateway);

class BenchModule {}
Module({ providers: [BenchGateway] })(BenchModule);

async function main() {
  const app = await NestFactory.create(BenchModule, { logger: ['error', 'warn'] });
  app.useWebSocketAdapter(new WsAdapter(app));
  await app.listen(port, host);
  const gateway = app.get(BenchGateway);
  globalThis.__benchClientCount = () => gateway.server.clients.size;
}

main().catch((err) => {
  process.stderr.write(`nest-wsadapter: ${err.stack || err}\n`);
  process.exit(1);
});
