'use strict';
/** A small SVG bar-chart generator: no dependencies, no downloads. */

const COLORS = ['#2563eb', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6'];

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function fmt(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'n/a';
  if (v === 0) return '0';
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** A "nice" axis maximum for value v. */
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * One panel of horizontal grouped bars.
 * panel: { title, unit, series: [{ name, values: number[] }], categories: string[] }
 */
function panel({ title, unit, series, categories }, { x, y, width }) {
  const labelW = 130;
  const barH = 14;
  const gap = 3;
  const groupGap = 12;
  const top = 28;
  const plotW = width - labelW - 70;
  const max = niceMax(Math.max(...series.flatMap((s) => s.values.filter(Number.isFinite)), 0));
  const groupH = series.length * (barH + gap) - gap;
  const height = top + categories.length * (groupH + groupGap) + 30;
  const parts = [];
  parts.push(`<g transform="translate(${x},${y})">`);
  parts.push(`<text x="0" y="16" class="title">${esc(title)}${unit ? ` (${esc(unit)})` : ''}</text>`);
  // grid + ticks
  for (let i = 0; i <= 4; i++) {
    const gx = labelW + (plotW * i) / 4;
    const gy0 = top - 4;
    const gy1 = height - 26;
    parts.push(`<line x1="${gx}" y1="${gy0}" x2="${gx}" y2="${gy1}" class="grid"/>`);
    parts.push(`<text x="${gx}" y="${gy1 + 14}" class="tick" text-anchor="middle">${esc(fmt((max * i) / 4))}</text>`);
  }
  categories.forEach((cat, ci) => {
    const gy = top + ci * (groupH + groupGap);
    parts.push(`<text x="${labelW - 8}" y="${gy + groupH / 2 + 4}" class="label" text-anchor="end">${esc(cat)}</text>`);
    series.forEach((s, si) => {
      const v = s.values[ci];
      const by = gy + si * (barH + gap);
      const w = Number.isFinite(v) ? Math.max(0, (v / max) * plotW) : 0;
      const color = s.color ?? COLORS[si % COLORS.length];
      parts.push(`<rect x="${labelW}" y="${by}" width="${w.toFixed(1)}" height="${barH}" fill="${color}" rx="2"/>`);
      parts.push(`<text x="${labelW + w + 4}" y="${by + barH - 3}" class="value">${esc(fmt(v))}</text>`);
    });
  });
  if (series.length > 1) {
    let lx = labelW;
    series.forEach((s, si) => {
      const color = s.color ?? COLORS[si % COLORS.length];
      parts.push(`<rect x="${lx}" y="${height - 10}" width="10" height="10" fill="${color}"/>`);
      parts.push(`<text x="${lx + 14}" y="${height - 1}" class="tick">${esc(s.name)}</text>`);
      lx += 20 + s.name.length * 7;
    });
  }
  parts.push('</g>');
  return { svg: parts.join('\n'), height: height + (series.length > 1 ? 14 : 0) };
}

/** Stacks panels vertically into one SVG document. */
function chart({ title, subtitle, panels, width = 760 }) {
  let y = subtitle ? 52 : 36;
  const body = [];
  for (const p of panels) {
    const { svg, height } = panel(p, { x: 16, y, width: width - 32 });
    body.push(svg);
    y += height + 18;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">
<style>
.title{font-size:14px;font-weight:600;fill:#111}
.label{font-size:12px;fill:#222}
.value{font-size:11px;fill:#333}
.tick{font-size:10px;fill:#666}
.grid{stroke:#e5e7eb;stroke-width:1}
.h1{font-size:16px;font-weight:700;fill:#111}
.sub{font-size:11px;fill:#555}
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="16" y="24" class="h1">${esc(title)}</text>
${subtitle ? `<text x="16" y="42" class="sub">${esc(subtitle)}</text>` : ''}
${body.join('\n')}
</svg>
`;
}

module.exports = { chart };
