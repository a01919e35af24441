import type { RawData } from 'ws';
import { startTestApp, type TestApp } from './support/test-app';
import type { TestClient } from './support/ws-client';

/**
 * A storm of frames (every client at once) is handled a slice per turn
 * (limits/frame-slices.ts): frames past a turn's slice wait for a later one.
 * Whichever turn runs them, each client's frames run in the order sent and
 * none is lost.
 */
describe('frames of many clients at once', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('answers every frame of a storm, in each client’s order', async () => {
    const count = 300;
    const clients: (TestClient & { id: string })[] = [];
    for (let i = 0; i < count; i++) clients.push(await t.join());
    const seen = clients.map(() => [] as string[]);
    const finished = clients.map(
      (client, i) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`client ${i} saw only ${seen[i].join(', ')}`)), 20_000);
          client.socket.on('message', (raw: RawData) => {
            const frame = JSON.parse((raw as Buffer).toString('utf8')) as { event: string; data: { data?: unknown } };
            seen[i].push(frame.event === 'message' ? `message:${String(frame.data.data)}` : frame.event);
            if (frame.event === 'unsubscribed') {
              clearTimeout(timer);
              resolve();
            }
          });
        }),
    );
    // All at once: the server gets every client's three frames in the same few turns.
    clients.forEach((client, i) => {
      client.send('subscribe', { topic: `storm-${i}` });
      client.send('publish', { topic: `storm-${i}`, data: i });
      client.send('unsubscribe', { topic: `storm-${i}` });
    });
    await Promise.all(finished);
    // Subscribed before its own publish (so it gets the message), unsubscribed last.
    seen.forEach((events, i) => expect(events).toEqual(['subscribed', `message:${i}`, 'unsubscribed']));
    await Promise.all(clients.map((c) => c.close()));
  });
});
