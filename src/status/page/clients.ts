import type { StatusClientsPage } from '../interfaces';
import { authHeaders, errorMessage } from './auth';
import { byId, el, formatBytes, formatCount, formatDuration, formatMs, setText } from './dom';

const LIST_LIMIT = 100;
/** While a search is shown, it is asked again this often (only while the tab is visible). */
const SEARCH_REFRESH_MS = 5000;

export interface ClientListDeps {
  token(): string | null;
  /** The token was refused (or access forbidden): back to the sign-in form. */
  unauthorized(message: string, forbidden: boolean): void;
}

/**
 * The searchable client list with its kick button. Without a search it shows
 * the list the feed carries (shared by every open page: no request per
 * page); a search asks GET /status/clients, again every few seconds while
 * the tab is visible. Kicks go through the operator API, DELETE
 * /clients/:id, after a confirmation.
 */
export class ClientList {
  private readonly search = byId<HTMLInputElement>('client-search');
  private readonly body = byId<HTMLTableElement>('client-list').tBodies[0];
  private readonly dialog = byId<HTMLDialogElement>('kick-dialog');
  private lastFetch = 0;
  private fromFeedLatest: StatusClientsPage | undefined;
  private inFlight = false;
  private again = false;
  private debounce: number | undefined;
  private pendingKick: string | undefined;

  constructor(private readonly deps: ClientListDeps) {
    this.search.addEventListener('input', () => {
      window.clearTimeout(this.debounce);
      this.debounce = window.setTimeout(() => void this.refresh(), 250);
    });
    window.setInterval(() => {
      if (this.query() && document.visibilityState === 'visible' && Date.now() - this.lastFetch >= SEARCH_REFRESH_MS) void this.refresh();
    }, 1000);
    this.dialog.addEventListener('close', () => {
      const id = this.pendingKick;
      this.pendingKick = undefined;
      if (id && this.dialog.returnValue === 'kick') void this.kick(id);
    });
  }

  /** The list from the feed: shown unless a search is. */
  fromFeed(page: StatusClientsPage): void {
    this.fromFeedLatest = page;
    if (!this.query()) this.render(page);
  }

  private query(): string {
    return this.search.value.trim();
  }

  /** Shows the search's result, or the feed's list when the search is empty. */
  async refresh(): Promise<void> {
    const q = this.query();
    if (!q) {
      if (this.fromFeedLatest) this.render(this.fromFeedLatest);
      return;
    }
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = true;
    this.lastFetch = Date.now();
    try {
      const res = await fetch(`/status/clients?limit=${LIST_LIMIT}&q=${encodeURIComponent(q)}`, {
        headers: authHeaders(this.deps.token()),
        cache: 'no-store',
      });
      if (res.status === 401 || res.status === 403) {
        this.deps.unauthorized(await errorMessage(res), res.status === 403);
        return;
      }
      if (!res.ok) {
        setText('client-count', `Could not load clients: ${await errorMessage(res)}`);
        return;
      }
      const page = (await res.json()) as StatusClientsPage;
      // The search may have changed meanwhile; a newer request follows then.
      if (page.q === this.query()) this.render(page);
    } catch (err) {
      setText('client-count', `Could not load clients: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.inFlight = false;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    }
  }

  private render(page: StatusClientsPage): void {
    const now = Date.now();
    const shown = page.items.length;
    setText(
      'client-count',
      (page.q
        ? `${formatCount(page.matched)} of ${formatCount(page.total)} match “${page.q}”`
        : `${formatCount(page.total)} connected`) + (shown < page.matched ? `; showing the oldest ${formatCount(shown)}` : ''),
    );
    const rows = page.items.map((c) => {
      const kick = el('button', { type: 'button', class: 'danger small-button', 'aria-label': `Kick client ${c.id}` }, 'Kick');
      kick.addEventListener('click', () => this.confirmKick(c.id, c.userId));
      const topics = c.subscriptions.length === 0 ? '–' : c.subscriptions.slice(0, 3).join(', ') + (c.subscriptions.length > 3 ? ` +${c.subscriptions.length - 3}` : '');
      return el(
        'tr',
        { 'data-client-id': c.id },
        el('td', { class: 'mono', title: c.id }, el('span', {}, c.id.slice(0, 8)), el('span', { class: 'id-rest' }, c.id.slice(8))),
        el('td', {}, c.userId ?? '–'),
        el('td', { class: 'mono' }, c.remoteAddress ?? '–'),
        el('td', { class: 'num' }, formatDuration(now - Date.parse(c.connectedAt))),
        el('td', { class: 'num' }, formatMs(c.rttMs)),
        el('td', { title: c.subscriptions.join(', ') }, topics),
        el('td', { class: 'num' }, formatBytes(c.bufferedAmount)),
        el('td', {}, kick),
      );
    });
    if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: '8', class: 'small' }, page.q ? 'No client matches.' : 'No clients.')));
    this.body.replaceChildren(...rows);
  }

  private confirmKick(id: string, userId: string | null): void {
    this.pendingKick = id;
    setText('kick-text', `Client ${id}${userId ? ` (user ${userId})` : ''} will be disconnected with close code 1008 "kicked".`);
    this.dialog.returnValue = '';
    this.dialog.showModal();
  }

  private async kick(id: string): Promise<void> {
    setText('kick-notice', `Kicking ${id}…`);
    try {
      const res = await fetch(`/clients/${encodeURIComponent(id)}`, { method: 'DELETE', headers: authHeaders(this.deps.token()) });
      if (res.status === 401 || res.status === 403) {
        this.deps.unauthorized(await errorMessage(res), res.status === 403);
        return;
      }
      if (res.ok || res.status === 404) {
        setText('kick-notice', res.ok ? `Client ${id} kicked.` : `Client ${id} had already left.`);
        // Gone now; the feed's next list (sent after churn) agrees.
        for (const row of this.body.querySelectorAll('tr[data-client-id]')) if (row.getAttribute('data-client-id') === id) row.remove();
      } else {
        setText('kick-notice', `Kick failed: ${await errorMessage(res)}`);
      }
    } catch (err) {
      setText('kick-notice', `Kick failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (this.query()) await this.refresh();
  }
}
