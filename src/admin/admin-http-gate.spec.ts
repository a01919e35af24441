import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminHttpGate, isLoopback } from './admin-http-gate';

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.5', false],
    ['::ffff:10.0.0.5', false],
    ['fe80::1', false],
    ['128.0.0.1', false],
    [undefined, false],
  ])('%s → %s', (address, expected) => {
    expect(isLoopback(address)).toBe(expected);
  });
});

/**
 * The gate on a real HTTP server on loopback. Requests from another address
 * cannot be made here (traffic stays on loopback), so the remote address the
 * gate sees is rewritten per request by the server's 'request' hook below.
 */
describe('adminHttpGate without ADMIN_TOKEN', () => {
  let server: Server;
  let port: number;
  let pretendFrom: string | undefined;
  const gate = adminHttpGate({ adminToken: undefined, bodyTimeoutMs: 1000 });

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (pretendFrom) Object.defineProperty(req.socket, 'remoteAddress', { value: pretendFrom, configurable: true });
      gate(req, res, () => res.end('served'));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });

  it('serves loopback clients, refuses others 403 on the API and /docs, and leaves other routes alone', async () => {
    pretendFrom = undefined;
    expect(await get('/clients')).toEqual({ status: 200, body: 'served' });
    pretendFrom = '10.0.0.5';
    for (const path of ['/clients', '/clients/x', '/topics/t/messages', '/docs', '/docs-json']) {
      const res = await get(path);
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body)).toMatchObject({ statusCode: 403, message: expect.stringContaining('set ADMIN_TOKEN') });
    }
    expect(await get('/health')).toEqual({ status: 200, body: 'served' });
    expect(await get('/clientsx')).toEqual({ status: 200, body: 'served' });
  });
});
