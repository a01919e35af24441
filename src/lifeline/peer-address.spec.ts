import { createServer, connect, type Server, type Socket } from 'node:net';
import { peerAddress } from './peer-address';

/** One accepted loopback TCP connection. */
async function accepted(server: Server): Promise<{ socket: Socket; client: Socket }> {
  const port = (server.address() as { port: number }).port;
  const socket = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect(port, '127.0.0.1');
  return { socket: await socket, client };
}

describe('peerAddress (real sockets)', () => {
  let server: Server;
  const open: Socket[] = [];

  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const s of open) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it("relies on Node caching getpeername() in socket._peername (fails loudly if Node renames it)", async () => {
    const { socket, client } = await accepted(server);
    open.push(socket, client);
    expect((socket as Socket & { _peername?: unknown })._peername).toBeUndefined();
    expect(socket.remoteAddress).toBe('127.0.0.1');
    expect((socket as Socket & { _peername?: unknown })._peername).toMatchObject({ address: '127.0.0.1', family: 'IPv4' });
  });

  it('returns the address and drops the cache; the socket still answers remoteAddress', async () => {
    const { socket, client } = await accepted(server);
    open.push(socket, client);
    expect(peerAddress(socket)).toBe('127.0.0.1');
    expect((socket as Socket & { _peername?: unknown })._peername).toBeUndefined();
    expect(socket.remoteAddress).toBe('127.0.0.1');
    expect(socket.remotePort).toBe(client.localPort);
  });

  it('answers undefined without a socket, and for a socket already closed', async () => {
    expect(peerAddress(undefined)).toBeUndefined();
    const { socket, client } = await accepted(server);
    socket.destroy();
    client.destroy();
    expect(peerAddress(socket)).toBeUndefined();
  });
});
