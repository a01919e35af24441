import { once } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { adoptSharedReadBuffer, NODE_SEAM_PIN, nodeMajor, sharedReadBufferAvailable } from './shared-read-buffer';

/**
 * The shared read buffer reads what Node does not export. When this spec
 * fails, Node changed under it: read shared-read-buffer.ts against the new
 * Node (lib/net.js's kBuffer slots, lib/internal/stream_base_commons.js's
 * onStreamRead), adapt it, then move NODE_SEAM_PIN. Until then Lifeline
 * still works (adopt answers false and sockets keep Node's default reads).
 */
describe('shared read buffer (a Node seam, pinned to the Node major)', () => {
  let server: net.Server;
  let accepted: net.Socket[] = [];
  let clients: net.Socket[] = [];

  beforeEach(async () => {
    accepted = [];
    clients = [];
    server = net.createServer((socket) => accepted.push(socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });

  afterEach(async () => {
    for (const s of [...accepted, ...clients]) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** A connected pair: the server's accepted socket and the client's. */
  async function pair(): Promise<{ inbound: net.Socket; client: net.Socket }> {
    const { port } = server.address() as net.AddressInfo;
    const client = net.connect(port, '127.0.0.1');
    clients.push(client);
    await once(client, 'connect');
    while (accepted.length < clients.length) await new Promise((r) => setImmediate(r));
    return { inbound: accepted[accepted.length - 1], client };
  }

  /** Collects 'data' until `bytes` have arrived. */
  function collect(socket: net.Socket, bytes: number): Promise<Buffer[]> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let total = 0;
      const onData = (chunk: Buffer) => {
        chunks.push(chunk);
        total += chunk.length;
        if (total >= bytes) {
          socket.removeListener('data', onData);
          resolve(chunks);
        }
      };
      socket.on('data', onData);
    });
  }

  it('runs on the pinned Node major and finds the slots it fills', () => {
    expect(nodeMajor()).toBe(NODE_SEAM_PIN);
    expect(sharedReadBufferAvailable()).toBe(true);
  });

  it('adopts an accepted TCP socket once, and the reads arrive as separate copies, in order', async () => {
    const { inbound, client } = await pair();
    expect(adoptSharedReadBuffer(inbound)).toBe(true);
    expect(adoptSharedReadBuffer(inbound)).toBe(false); // already adopted: left alone
    const first = collect(inbound, 5);
    client.write('first');
    const [a] = await first;
    const second = collect(inbound, 6);
    client.write('SECOND');
    const [b] = await second;
    // Both reads landed in the one shared buffer: the first chunk must be a
    // copy, still intact after the second read overwrote the buffer.
    expect(a.toString()).toBe('first');
    expect(b.toString()).toBe('SECOND');
    expect(a.buffer === b.buffer && a.byteOffset === b.byteOffset).toBe(false);
  });

  it('carries a payload larger than the shared buffer intact', async () => {
    const { inbound, client } = await pair();
    expect(adoptSharedReadBuffer(inbound)).toBe(true);
    const payload = Buffer.alloc(300_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 8)) & 0xff;
    const arriving = collect(inbound, payload.length);
    client.write(payload);
    const chunks = await arriving;
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks).equals(payload)).toBe(true);
  });

  it('pause() stops the reads and resume() starts them again, nothing lost', async () => {
    const { inbound, client } = await pair();
    expect(adoptSharedReadBuffer(inbound)).toBe(true);
    const received: string[] = [];
    inbound.on('data', (chunk: Buffer) => received.push(chunk.toString()));
    inbound.pause();
    client.write('while paused');
    await new Promise((r) => setTimeout(r, 50));
    expect(received).toEqual([]);
    inbound.resume();
    await new Promise((r) => setTimeout(r, 50));
    expect(received.join('')).toBe('while paused');
  });

  it("ends the stream on the peer's FIN as before", async () => {
    const { inbound, client } = await pair();
    expect(adoptSharedReadBuffer(inbound)).toBe(true);
    const received: Buffer[] = [];
    inbound.on('data', (chunk: Buffer) => received.push(chunk));
    client.end('last words');
    await once(inbound, 'end');
    expect(Buffer.concat(received).toString()).toBe('last words');
  });

  it('leaves TLS sockets, handle-less streams and destroyed sockets on the default path', async () => {
    const { inbound } = await pair();
    const wrapped = new tls.TLSSocket(new net.Socket());
    expect(adoptSharedReadBuffer(wrapped)).toBe(false);
    wrapped.destroy();
    expect(adoptSharedReadBuffer(new net.Socket())).toBe(false); // not connected: no handle
    inbound.destroy();
    expect(adoptSharedReadBuffer(inbound)).toBe(false);
  });
});
