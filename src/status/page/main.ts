import 'uplot/dist/uPlot.min.css';
import './status.css';
import type { StatusHello, StatusSectionSnapshot, StatusSnapshot } from '../interfaces';
import { forgetToken, storedToken, storeToken } from './auth';
import { Charts, History } from './charts';
import { ClientList } from './clients';
import { byId, el, fillCounts, formatBytes, formatCount, formatDuration, formatMs, setText } from './dom';
import { readFeed } from './feed';

/** No sample for this long: say so, the numbers on screen are stale. */
const STALE_AFTER_MS = 3500;
const RECENT_WINDOW_S = 300;

const history = new History();
let charts: Charts | undefined;
let clients: ClientList | undefined;
let token: string | null = storedToken();
let feedAbort: AbortController | undefined;
let lastSampleAt = 0;
let lastSample: StatusSnapshot | undefined;

function setConn(text: string, state: 'ok' | 'wait' | 'bad'): void {
  const conn = byId('conn');
  setText('conn', text);
  conn.className = `conn conn-${state}`;
}

function showLogin(error: string): void {
  feedAbort?.abort();
  byId('dashboard').hidden = true;
  byId('login').hidden = false;
  byId('signout').hidden = true;
  setText('login-error', error);
  setConn(error ? 'Not signed in: token refused' : 'Sign in to see the status', 'wait');
  byId<HTMLInputElement>('token').focus();
}

function showDashboard(): void {
  byId('login').hidden = true;
  byId('dashboard').hidden = false;
  byId('signout').hidden = token === null;
  charts ??= new Charts(byId('rate-chart'), byId('reason-chart'));
  clients ??= new ClientList({
    token: () => token,
    unauthorized: (message, forbidden) => refused(message, forbidden),
  });
}

/** 401 with a token: it was wrong. 401 without: sign in. 403: no token helps (e.g. not on loopback); say why. */
function refused(message: string, forbidden: boolean): void {
  const hadToken = token !== null;
  token = null;
  forgetToken();
  showLogin(forbidden ? `Refused: ${message}` : hadToken ? `The token was refused: ${message}` : '');
}

/** Keeps one feed open; reconnects after a drop with a growing pause, until the token is refused. */
async function runFeed(): Promise<void> {
  feedAbort?.abort();
  const abort = new AbortController();
  feedAbort = abort;
  let pauseMs = 500;
  while (!abort.signal.aborted) {
    try {
      const end = await readFeed(
        token,
        {
          onOpen: () => {
            pauseMs = 500;
            showDashboard();
            setConn('Live', 'ok');
          },
          onHello: (hello: StatusHello) => {
            history.reset(hello.historySeconds);
            history.merge(hello.connects, hello.disconnects);
          },
          onSample: (sample) => render(sample),
          onClients: (page) => clients?.fromFeed(page),
        },
        abort.signal,
      );
      if (end.kind === 'refused') {
        if (end.status === 401 || end.status === 403) {
          refused(end.message, end.status === 403);
          return;
        }
        setConn(`Feed refused (${end.status}: ${end.message}); retrying`, 'bad');
      } else if (!abort.signal.aborted) {
        setConn('Feed closed by the server; reconnecting…', 'bad');
      }
    } catch (err) {
      if (abort.signal.aborted) return;
      setConn(`Connection lost (${err instanceof Error ? err.message : String(err)}); reconnecting…`, 'bad');
    }
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    pauseMs = Math.min(pauseMs * 2, 5000);
  }
}

function render(s: StatusSnapshot): void {
  lastSampleAt = Date.now();
  lastSample = s;
  byId('dashboard').classList.remove('stale');
  history.merge(s.recent.connects, s.recent.disconnects);

  setText('node-meta', `${s.node.id ? `node ${s.node.id} · ` : ''}pid ${s.node.pid} · Node ${s.node.nodeVersion}`);

  setText('clients-local', formatCount(s.clients.local));
  byId('clients-cluster-row').hidden = s.cluster === null;
  setText('clients-cluster', s.clients.cluster === null ? 'unknown' : formatCount(s.clients.cluster));
  setText('connects-rate', formatCount(s.clients.connectsPerSec));
  setText('disconnects-rate', formatCount(s.clients.disconnectsPerSec));
  setText('connects-total', formatCount(s.clients.connectsTotal));
  setText('disconnects-total', formatCount(s.clients.disconnectsTotal));

  const hb = s.heartbeat;
  setText('pings-closed', formatCount(hb.pingsToClosed));
  const box = byId('pings-closed-box');
  box.classList.toggle('alarm-ok', hb.pingsToClosed === 0);
  box.classList.toggle('alarm-bad', hb.pingsToClosed !== 0);
  setText('pings-closed-verdict', hb.pingsToClosed === 0 ? '✓ as it must be' : '✗ must read 0: a bug, report it');
  setText('hb-config', `${formatMs(hb.intervalMs)} / ${formatMs(hb.timeoutMs)}`);
  setText(
    'hb-last',
    hb.lastSweepAt === null ? 'none yet' : `${formatDuration(s.at - hb.lastSweepAt)} ago${hb.healthy ? '' : ' — STALLED (/health is 503)'}`,
  );
  byId('hb-last').classList.toggle('bad', !hb.healthy);
  setText('hb-duration', formatMs(hb.lastSweep?.durationMs));
  setText('hb-slice', formatMs(hb.lastSweep?.longestSliceMs));
  setText(
    'hb-visited',
    hb.lastSweep ? `${formatCount(hb.lastSweep.clients)} clients, ${formatCount(hb.lastSweep.pinged)} pinged, ${formatCount(hb.lastSweep.reaped)} reaped` : '–',
  );
  setText(
    'hb-rtt',
    hb.rtt.samples === 0
      ? 'no round trips yet'
      : `${formatMs(hb.rtt.p50Ms)} / ${formatMs(hb.rtt.p99Ms)} (${hb.rtt.windowS === null ? 'since start' : `last ${hb.rtt.windowS} s`})`,
  );
  setText('hb-sweeps', formatCount(hb.sweepsTotal));
  fillCounts('reaps', hb.reapsByReason, { hotWhenNonZero: true });

  const t = s.trouble;
  setText('slow-consumers', formatCount(t.slowConsumers));
  byId('slow-consumers').classList.toggle('bad', t.slowConsumers > 0);
  setText('rate-limited', formatCount(t.rateLimitedMessages));
  fillCounts('cleanup-failures', t.cleanupFailuresByStep, { hotWhenNonZero: true });
  fillCounts('rejections', t.rejectionsByReason, { hotWhenNonZero: true });

  const recent = history.recentByReason(RECENT_WINDOW_S);
  fillCounts('disconnect-reasons', s.disconnectsByReason, { extra: (reason) => formatCount(recent[reason] ?? 0) });

  const p = s.process;
  setText('proc-cpu', p.cpuPercent === null ? '–' : `${p.cpuPercent} %`);
  setText('proc-elu', p.eventLoopUtilization === null ? '–' : `${p.eventLoopUtilization} %`);
  setText('proc-rss', formatBytes(p.rssBytes));
  setText('proc-heap', formatBytes(p.heapUsedBytes));
  setText('proc-uptime', formatDuration(s.node.uptimeS * 1000));
  setText('proc-accepting', s.node.accepting ? 'yes' : 'no — shutting down');
  byId('proc-accepting').classList.toggle('bad', !s.node.accepting);
  setText('viewers', formatCount(s.viewers));

  renderCluster(s);
  renderSections(s.sections);
  charts?.draw(history, Object.keys(s.disconnectsByReason), s.node.uptimeS);
}

function renderCluster(s: StatusSnapshot): void {
  const card = byId('cluster-card');
  card.hidden = s.cluster === null;
  if (!s.cluster) return;
  const redis = byId('redis-state');
  setText('redis-state', s.cluster.redis);
  redis.className = `pill ${s.cluster.redis === 'up' ? 'pill-ok' : 'pill-bad'}`;
  setText('cluster-message', s.cluster.message ?? '');
  const ttl = s.cluster.nodeTtlMs;
  const rows = s.cluster.nodes.map((n) =>
    el(
      'tr',
      { class: n.leaseAgeMs === null ? 'hot' : '' },
      el('th', { scope: 'row', class: 'mono' }, n.id + (n.self ? ' (this node)' : '')),
      el('td', { class: 'num' }, n.leaseAgeMs === null ? 'lease gone (lost)' : `${formatMs(n.leaseAgeMs)} of ${formatMs(ttl)}`),
      el('td', { class: 'num' }, formatCount(n.clients)),
    ),
  );
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: '3', class: 'small' }, 'no nodes known')));
  byId<HTMLTableElement>('cluster-nodes').tBodies[0].replaceChildren(...rows);
}

function renderSections(sections: StatusSectionSnapshot[]): void {
  const container = byId('sections');
  const cards = sections.map((section) => {
    const rows = section.rows.map((r) => {
      const labels = r.labels ? Object.entries(r.labels).map(([k, v]) => `${k}=${v}`).join(', ') : '';
      return el(
        'tr',
        {},
        el('th', { scope: 'row', title: r.help ?? '' }, r.name + (labels ? ` {${labels}}` : '')),
        el('td', { class: 'num' }, typeof r.value === 'number' ? formatCount(r.value) : (r.value ?? '–')),
      );
    });
    const headingId = `section-${section.id}-h`;
    return el(
      'section',
      { class: 'card', id: `section-${section.id}`, 'aria-labelledby': headingId },
      el('h2', { id: headingId }, section.title),
      el('table', { class: 'counts' }, el('tbody', {}, ...rows)),
    );
  });
  container.replaceChildren(...cards);
}

/** Marks the dashboard stale when samples stop arriving (the feed will reconnect). */
function watchStaleness(): void {
  setInterval(() => {
    if (!lastSample || byId('dashboard').hidden) return;
    const age = Date.now() - lastSampleAt;
    if (age > STALE_AFTER_MS) {
      byId('dashboard').classList.add('stale');
      setConn(`No data for ${formatDuration(age)}: figures are stale; reconnecting…`, 'bad');
    }
  }, 1000);
}

function start(): void {
  byId<HTMLFormElement>('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = byId<HTMLInputElement>('token').value.trim();
    if (!value) {
      setText('login-error', 'Enter the admin token.');
      return;
    }
    token = value;
    storeToken(value);
    byId<HTMLInputElement>('token').value = '';
    setText('login-error', '');
    setConn('Connecting…', 'wait');
    void runFeed();
  });
  byId('signout').addEventListener('click', () => {
    token = null;
    forgetToken();
    showLogin('');
  });
  watchStaleness();
  void runFeed();
}

start();
