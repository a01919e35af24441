/** Small DOM helpers. Everything is set through textContent: ids, users and topics come from clients. */

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from the page`);
  return el as T;
}

export function setText(id: string, text: string): void {
  const el = byId(id);
  if (el.textContent !== text) el.textContent = text;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

/**
 * Fills a two-column table (label, count[, extra]) from a record, keeping
 * rows in a stable order; a non-zero count gets the `hot` class when asked.
 */
export function fillCounts(
  tableId: string,
  counts: Record<string, number>,
  options: { hotWhenNonZero?: boolean; extra?: (key: string) => string; order?: readonly string[] } = {},
): void {
  const body = byId<HTMLTableElement>(tableId).tBodies[0];
  const keys = [...new Set([...(options.order ?? []), ...Object.keys(counts)])];
  const rows = keys.map((key) => {
    const value = counts[key] ?? 0;
    const cells = [el('th', { scope: 'row' }, key), el('td', { class: 'num' }, formatCount(value))];
    if (options.extra) cells.push(el('td', { class: 'num small' }, options.extra(key)));
    const row = el('tr', { 'data-key': key }, ...cells);
    if (value === 0) row.classList.add('zero');
    else if (options.hotWhenNonZero) row.classList.add('hot');
    return row;
  });
  if (keys.length === 0) rows.push(el('tr', {}, el('td', { colspan: '2', class: 'small' }, 'none')));
  body.replaceChildren(...rows);
}

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  return Math.round(n).toLocaleString('en');
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '–';
  if (ms < 1) return `${(Math.round(ms * 1000) / 1000).toLocaleString('en')} ms`;
  if (ms < 1000) return `${(Math.round(ms * 10) / 10).toLocaleString('en')} ms`;
  if (ms < 60_000) return `${(Math.round(ms / 10) / 100).toLocaleString('en')} s`;
  return formatDuration(ms);
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
