import type { WebSocket } from 'ws';
import { usesSharedReadBuffer } from '../src/lifeline/node-seam/shared-read-buffer';
import { startTestApp, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';

/** The server side of a joined client, as ws holds it. */
const socketOf = (t: TestApp, id: string) => (t.registry.get(id)!.socket as WebSocket & { _socket: import('node:net').Socket })._socket;

/** Payloads from one byte to several times the 64 KB shared buffer, each with its own content. */
const PAYLOADS = [1, 125, 126, 4095, 4096, 65_535, 65_536, 65_537, 200_000].map((n, i) =>
  Array.from({ length: n }, (_, j) => String.fromCharCode(97 + ((i + j * 7) % 26))).join(''),
);

describe('shared read buffer (SHARED_READ_BUFFER), through the service', () => {
  let t: TestApp;
  afterEach(() => t.close());

  async function roundTrips(): Promise<void> {
    const [pub, sub] = await Promise.all([t.join(), t.join()]);
    sub.send('subscribe', { topic: 'bytes' });
    await sub.next('subscribed');
    // Sent back to back, so reads hold several frames and frames span reads.
    for (const data of PAYLOADS) pub.send('publish', { topic: 'bytes', data });
    for (const data of PAYLOADS) {
      const frame = await sub.next('message');
      expect((frame.data as { data: string }).data).toBe(data);
    }
    // Pongs come back through the same reads: three sweeps later both are still here.
    const sweeps = t.heartbeat.stats.sweeps;
    await waitFor(() => t.heartbeat.stats.sweeps >= sweeps + 3, 'three sweeps', 5000);
    expect(t.registry.size).toBe(3); // the two here and the one the test joined first
    expect(await t.metric('lifeline_disconnections_total', { reason: 'heartbeat_timeout' })).toBe(0);
  }

  it('is on by default: upgraded sockets read into it and every frame size arrives intact', async () => {
    t = await startTestApp({ env: { MAX_PAYLOAD_BYTES: '1048576' } });
    const c = await t.join();
    expect(usesSharedReadBuffer(socketOf(t, c.id))).toBe(true);
    await roundTrips();
  });

  it('SHARED_READ_BUFFER=false leaves sockets on Node’s own reads, with the same answers', async () => {
    t = await startTestApp({ env: { MAX_PAYLOAD_BYTES: '1048576', SHARED_READ_BUFFER: 'false' } });
    const c = await t.join();
    expect(usesSharedReadBuffer(socketOf(t, c.id))).toBe(false);
    await roundTrips();
  });
});
