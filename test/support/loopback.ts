import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ClientOptions, type WebSocket, WebSocketServer } from 'ws';
import { TestClient } from './ws-client';

export interface Connection {
  /** The server-side socket, as the gateway would get it. */
  socket: WebSocket;
  request: IncomingMessage;
  /** The real client on the other end. */
  client: TestClient;
}

/**
 * A bare ws server on loopback, port 0, handing out the server side of real
 * connections, for unit specs that drive services without the whole app.
 */
export class Loopback {
  private readonly clients: TestClient[] = [];

  private constructor(
    private readonly wss: WebSocketServer,
    readonly url: string,
  ) {}

  static async start(): Promise<Loopback> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    const { port } = wss.address() as AddressInfo;
    return new Loopback(wss, `ws://127.0.0.1:${port}`);
  }

  /** Connects one client and returns both ends. Call one at a time. */
  async connect(options: ClientOptions = {}): Promise<Connection> {
    const accepted = new Promise<[WebSocket, IncomingMessage]>((resolve) =>
      this.wss.once('connection', (socket, request) => resolve([socket, request])),
    );
    const client = await TestClient.connect(this.url, options);
    this.clients.push(client);
    const [socket, request] = await accepted;
    socket.on('error', () => undefined);
    return { socket, request, client };
  }

  async close(): Promise<void> {
    for (const socket of this.wss.clients) socket.terminate();
    for (const client of this.clients) client.socket.terminate();
    await Promise.all(this.clients.map((c) => c.closed));
    await new Promise<void>((resolve, reject) => this.wss.close((err) => (err ? reject(err) : resolve())));
  }
}
