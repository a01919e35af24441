import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

export const BROWSER_BUNDLE = join(__dirname, '..', '..', 'client', 'dist', 'lifeline-client.browser.js');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * The page the browser tests drive: it loads the SDK's browser bundle as an
 * ES module and exposes a small harness on `window.lifeline`: start a client,
 * record its states (with the page's clock), errors, resyncs and messages,
 * and count the window/document listeners it holds.
 */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>lifeline-client test page</title></head>
<body>
<script>
  // Count listeners added and removed on window and document before the SDK loads.
  window.listenerCount = 0;
  for (const target of [window, document]) {
    const add = target.addEventListener.bind(target);
    const remove = target.removeEventListener.bind(target);
    target.addEventListener = (...args) => { window.listenerCount++; return add(...args); };
    target.removeEventListener = (...args) => { window.listenerCount--; return remove(...args); };
  }
</script>
<script type="module">
  import { LifelineClient } from '/lifeline-client.browser.js';
  window.lifeline = {
    LifelineClient,
    clients: {},
    start(name, url, options, topic) {
      // Functions cannot cross page.evaluate: a fixed reconnect delay is given as a number.
      if (options.fixedDelayMs !== undefined) options = { ...options, reconnectDelay: () => options.fixedDelayMs };
      const client = new LifelineClient(url, options);
      const record = { states: [], errors: [], resyncs: [], received: [] };
      client.on('state', (state) => record.states.push({ state, at: Date.now() }));
      client.on('error', (err) => record.errors.push({ code: err.code, message: err.message, closeCode: err.details.closeCode }));
      client.on('resync', (r) => record.resyncs.push(r));
      if (topic) client.subscribe(topic, (data, meta) => record.received.push({ data, meta }));
      this.clients[name] = { client, record };
      return client.ready().then(() => 'open', (err) => err.code);
    },
    record(name) { const c = this.clients[name]; return { ...c.record, state: c.client.state }; },
  };
  window.dispatchEvent(new Event('harness-ready'));
</script>
</body></html>`;

export interface BrowserHarness {
  browser: Browser;
  page: Page;
  pageUrl: string;
  close(): Promise<void>;
}

/** Serves the page and the bundle on loopback and opens it in headless Chromium (Debian's, never a download). */
export async function openHarness(): Promise<BrowserHarness> {
  if (!existsSync(BROWSER_BUNDLE)) throw new Error(`${BROWSER_BUNDLE} is missing: run "npm run build" first`);
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium`);
  const bundle = readFileSync(BROWSER_BUNDLE);
  const server: Server = createServer((req, res) => {
    if (req.url === '/lifeline-client.browser.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    } else if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(pageUrl);
  await page.waitForFunction(() => 'lifeline' in globalThis);
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  return {
    browser,
    page,
    pageUrl,
    close: async () => {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What the page's harness recorded for one client. */
export interface PageRecord {
  state: string;
  states: { state: string; at: number }[];
  errors: { code: string; message: string; closeCode?: number }[];
  resyncs: { topic: string; reason: string }[];
  received: { data: unknown; meta: { topic: string; offset?: number; epoch?: string; replayed: boolean } }[];
}

export function pageRecord(page: Page, name: string): Promise<PageRecord> {
  return page.evaluate((n) => (globalThis as unknown as { lifeline: { record(n: string): PageRecord } }).lifeline.record(n), name);
}

export function startInPage(
  page: Page,
  name: string,
  url: string,
  options: Record<string, unknown>,
  topic?: string,
): Promise<string> {
  return page.evaluate(
    ([n, u, o, t]) =>
      (
        globalThis as unknown as {
          lifeline: { start(n: string, u: string, o: unknown, t?: string): Promise<string> };
        }
      ).lifeline.start(n, u, o, t),
    [name, url, options, topic] as const,
  );
}
