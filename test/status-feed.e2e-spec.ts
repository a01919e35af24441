import { once } from 'node:events';
import { Agent, type IncomingMessage, request } from 'node:http';
import { Counter, Histogram } from 'prom-client';
import { StatusFeed } from '../src/status';
import { MetricsService } from '../src/metrics/metrics.service';
import { sampleWhere } from './support/status-feed';
import { startTestApp, type TestApp } from './support/test-app';

/** The feed's contract without a browser: generic sections, refusals, bad input. */
const TOKEN = 'status-feed-token-0123456789';

describe('status feed', () => {
  let t: TestApp;

  beforeAll(async () => {
    // A short handshake deadline: a feed on a kept-alive connection must outlive it.
    t = await startTestApp({ env: { ADMIN_TOKEN: TOKEN, HANDSHAKE_TIMEOUT_MS: '300' } });
  });
  afterAll(() => t?.close());

  it('shows metrics of other features by prefix, and sections other modules add', async () => {
    const registry = t.app.get(MetricsService).registry;
    // What the history and sessions features register elsewhere; the page knows neither.
    new Counter({ name: 'lifeline_history_appends_total', help: 'Messages appended.', labelNames: ['store'], registers: [registry] }).inc({ store: 'memory' }, 3);
    new Histogram({ name: 'lifeline_sessions_resume_seconds', help: 'Resume time.', buckets: [0.1, 1], registers: [registry] }).observe(0.05);
    const feed = t.app.get(StatusFeed);
    feed.addSection({ id: 'queue', title: 'Queue', sample: () => [{ name: 'depth', value: 7 }] });
    expect(() => feed.addSection({ id: 'queue', title: 'again', sample: () => [] })).toThrow(/exists already/);

    const sample = await sampleWhere(t, TOKEN, (s) => s.sections.some((section) => section.id === 'queue'));
    expect(sample.sections.map((section) => section.id)).toEqual(['sessions', 'history', 'presence', 'queue']);
    const rows = (id: string) => sample.sections.find((section) => section.id === id)?.rows ?? [];
    // The service's own session and history metrics are there too (merged from their branches).
    expect(rows('sessions')).toEqual(
      expect.arrayContaining([
        { name: 'lifeline_sessions_resume_seconds_sum', value: 0.05, help: 'Resume time.' },
        { name: 'lifeline_sessions_resume_seconds_count', value: 1, help: 'Resume time.' },
      ]),
    );
    expect(rows('sessions').some((row) => row.name.endsWith('_bucket'))).toBe(false);
    expect(rows('history')).toEqual(
      expect.arrayContaining([{ name: 'lifeline_history_appends_total', labels: { store: 'memory' }, value: 3, help: 'Messages appended.' }]),
    );
    expect(rows('queue')).toEqual([{ name: 'depth', value: 7 }]);
    expect(feed.removeSection('queue')).toBe(true);
  });

  it('keeps a feed that arrived on a kept-alive connection open past the handshake deadline', async () => {
    // One kept-alive connection: it serves the page, then carries the feed.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const get = (path: string, headers: Record<string, string> = {}) =>
      new Promise<IncomingMessage>((resolve, reject) => {
        const req = request(`${t.baseUrl}${path}`, { agent, headers }, resolve).on('error', reject);
        req.on('socket', (socket) => sockets.add(socket));
        req.end();
      });
    const page = await get('/status');
    page.resume();
    await once(page, 'end');
    const feed = await get('/status/feed', { Authorization: `Bearer ${TOKEN}` });
    expect(sockets.size).toBe(1);
    let text = '';
    let failed = false;
    feed.on('data', (chunk: Buffer) => (text += chunk.toString()));
    feed.on('error', () => (failed = true)).on('aborted', () => (failed = true));
    await new Promise((resolve) => setTimeout(resolve, 2500)); // 8 x HANDSHAKE_TIMEOUT_MS
    expect(failed).toBe(false);
    expect(text.match(/event: sample\n/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
    feed.destroy();
    agent.destroy();
  });

  it('answers bad searches with 400 and refuses feeds beyond 100 per node with 503', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    for (const query of ['limit=0', 'limit=501', 'limit=x', `q=${'a'.repeat(257)}`]) {
      const res = await fetch(`${t.baseUrl}/status/clients?${query}`, { headers: auth });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toMatch(/^invalid query: (limit|q): /);
    }
    const client = await t.join();
    const found = (await (await fetch(`${t.baseUrl}/status/clients?q=${client.id.slice(0, 8).toUpperCase()}`, { headers: auth })).json()) as {
      items: { id: string }[];
      matched: number;
    };
    expect(found.items.map((c) => c.id)).toEqual([client.id]);

    const aborts = Array.from({ length: 100 }, () => new AbortController());
    const open = await Promise.all(aborts.map((a) => fetch(`${t.baseUrl}/status/feed`, { headers: auth, signal: a.signal })));
    expect(open.every((r) => r.status === 200)).toBe(true);
    const refused = await fetch(`${t.baseUrl}/status/feed`, { headers: auth });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { message: string }).message).toMatch(/too many status viewers/);
    for (const a of aborts) a.abort();
  });
});
