import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { STATUS_FEED_TIMER_NAME } from '../src/status';
import { startTestApp, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';

/**
 * The status page in Debian's headless Chromium against the real service
 * (ADMIN_TOKEN set, 200/100 ms heartbeat). Screenshots go to
 * test-artifacts/status/ (git-ignored). The page is bundled first, as
 * `npm run build` does.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the build script is plain CommonJS.
const { buildStatusPage } = require('../scripts/build-status-page.js') as { buildStatusPage(): Promise<string> };

const TOKEN = 'status-admin-token-0123456789';
const ARTIFACTS = join(__dirname, '..', 'test-artifacts', 'status');
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

describe('status page (headless Chromium)', () => {
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await buildStatusPage();
    [t, browser] = await Promise.all([
      startTestApp({ env: { ADMIN_TOKEN: TOKEN } }),
      chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS }),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const text = (page: Page, selector: string) => page.locator(selector).first().textContent();

  /** Waits until the element's text satisfies the predicate (the page updates once a second). */
  async function waitForText(page: Page, selector: string, want: (text: string) => boolean, what: string, timeoutMs = 6000) {
    let last: string | null = null;
    try {
      await waitFor(async () => want((last = await text(page, selector)) ?? ''), `${what} (${selector})`, timeoutMs, 100);
    } catch (err) {
      // Say what the page showed instead: a count one short and a missing row are different bugs.
      throw new Error(`${err instanceof Error ? err.message : String(err)}; last text: ${JSON.stringify(last)}`, { cause: err });
    }
  }

  async function openPage(viewport = { width: 1366, height: 900 }): Promise<Page> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/401/.test(msg.text())) problems.push(msg.text());
    });
    (page as Page & { problems: string[] }).problems = problems;
    await page.goto(`${t.baseUrl}/status`);
    return page;
  }

  async function signIn(page: Page, token = TOKEN): Promise<void> {
    await page.locator('#login').waitFor({ state: 'visible' });
    await page.getByLabel('Admin token').fill(token);
    await page.getByRole('button', { name: 'Open status' }).click();
  }

  it('refuses a wrong token, with the page and the feed', async () => {
    const page = await openPage();
    await signIn(page, 'wrong-token-00000000000000');
    await waitForText(page, '#login-error', (s) => s.includes('refused'), 'the refusal is shown');
    expect(await page.locator('#dashboard').isHidden()).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'login-refused.png') });
    // A string: these specs are compiled without DOM types.
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await page.context().close();

    for (const path of ['/status/feed', '/status/clients']) {
      expect((await fetch(t.baseUrl + path)).status).toBe(401);
      expect((await fetch(t.baseUrl + path, { headers: { Authorization: 'Bearer wrong-token-00000000000000' } })).status).toBe(401);
    }
    expect((await fetch(`${t.baseUrl}/status/assets/nope.js`)).status).toBe(404);
  });

  it('signs in, counts 5 clients in and out, shows a reap under heartbeat_timeout, kicks, and stops its feed when the last page closes', async () => {
    const page = await openPage();
    await signIn(page);
    await waitForText(page, '#conn', (s) => s === 'Live', 'the feed is live');
    // The token stays in the tab's session storage, never in the URL.
    expect(await page.evaluate('Object.values(sessionStorage)')).toEqual([TOKEN]);
    expect(page.url()).toBe(`${t.baseUrl}/status`);
    await waitForText(page, '#clients-local', (s) => s === '0', 'no clients yet');
    expect(await text(page, '#pings-closed')).toBe('0');

    const five = await Promise.all(Array.from({ length: 5 }, () => t.join()));
    five[0].send('subscribe', { topic: 'orders' });
    await waitForText(page, '#clients-local', (s) => s === '5', '5 clients connected');
    await waitFor(async () => (await page.locator('#client-list tbody tr[data-client-id]').count()) === 5, 'the list shows 5 clients');
    await page.screenshot({ path: join(ARTIFACTS, 'desktop-5-clients.png'), fullPage: true });

    // Search narrows the list (server-side): by topic here.
    await page.getByLabel('Search by id, user, address or topic').fill('orders');
    await waitFor(async () => (await page.locator('#client-list tbody tr[data-client-id]').count()) === 1, 'search by topic');
    expect(await page.locator('#client-list tbody tr[data-client-id]').getAttribute('data-client-id')).toBe(five[0].id);
    await page.getByLabel('Search by id, user, address or topic').fill('');

    await Promise.all(five.map((c) => c.close()));
    await waitForText(page, '#clients-local', (s) => s === '0', 'all 5 gone');
    await waitForText(page, '#disconnect-reasons tr[data-key="client_close"] td', (s) => s === '5', '5 client_close');

    // A peer that never answers pings is reaped within interval + timeout.
    const muted = await t.join({ autoPong: false });
    await muted.closed;
    await waitForText(page, '#reaps tr[data-key="heartbeat_timeout"] td', (s) => s === '1', 'the reap shows');
    await waitForText(page, '#disconnect-reasons tr[data-key="heartbeat_timeout"] td', (s) => s === '1', 'as a disconnect reason');
    expect(await text(page, '#pings-closed')).toBe('0');

    // The kick button, after its confirmation, kicks through the operator API.
    const victim = await t.join();
    const row = page.locator(`#client-list tr[data-client-id="${victim.id}"]`);
    await row.waitFor({ timeout: 6000 });
    await row.getByRole('button', { name: `Kick client ${victim.id}` }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(victim.id);
    await page.screenshot({ path: join(ARTIFACTS, 'desktop-kick-dialog.png') });
    await dialog.getByRole('button', { name: 'Kick' }).click();
    expect(await victim.closed).toBe(1008);
    expect(victim.closeReason).toBe('kicked');
    await waitForText(page, '#kick-notice', (s) => s.includes('kicked'), 'the kick is confirmed');
    await waitForText(page, '#disconnect-reasons tr[data-key="kicked"] td', (s) => s === '1', 'counted as kicked');

    // A phone-sized second viewer shares the same feed.
    const phone = await openPage({ width: 390, height: 844 });
    await signIn(phone);
    await waitForText(phone, '#conn', (s) => s === 'Live', 'the phone is live');
    await waitForText(phone, '#viewers', (s) => s === '2', 'two viewers');
    await phone.screenshot({ path: join(ARTIFACTS, 'phone.png'), fullPage: true });
    await page.screenshot({ path: join(ARTIFACTS, 'desktop.png'), fullPage: true });
    expect(t.heartbeatTimers().intervals).toContain(STATUS_FEED_TIMER_NAME);
    expect(await t.metric('lifeline_status_viewers')).toBe(2);

    for (const p of [page, phone]) expect((p as Page & { problems: string[] }).problems).toEqual([]);
    await phone.context().close();
    await page.context().close();

    // The last page closed: no viewer, no timer, no more samples.
    await waitFor(async () => (await t.metric('lifeline_status_viewers')) === 0, 'no viewers left');
    expect(t.heartbeatTimers().intervals).not.toContain(STATUS_FEED_TIMER_NAME);
    const samples = await t.metric('lifeline_status_samples_total');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await t.metric('lifeline_status_samples_total')).toBe(samples);
  });

  it('ends an open feed when the service shuts down (the HTTP server can close)', async () => {
    const res = await fetch(`${t.baseUrl}/status/feed`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = res.text();
    const started = Date.now();
    const app = t;
    t = undefined as unknown as TestApp; // closed here, not in afterAll
    await app.close();
    expect(await body).toMatch(/^event: hello\ndata: \{/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
