#!/usr/bin/env node
'use strict';
/**
 * Summarises a .heapsnapshot (from `npm run bench -- --profile`): self size
 * and count per constructor / node type, biggest first. With a count, also
 * per connection. With a second snapshot, the difference (b - a).
 *
 *   node bench/tools/heap-summary.js a.heapsnapshot [--per=19000] [--top=40] [--vs=b.heapsnapshot]
 */
const fs = require('node:fs');

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : fallback;
};
const files = args.filter((a) => !a.startsWith('--'));
if (!files.length) {
  process.stderr.write('usage: heap-summary.js <a.heapsnapshot> [--vs=<b.heapsnapshot>] [--per=N] [--top=40]\n');
  process.exit(2);
}
const per = Number(opt('per', '1'));
const top = Number(opt('top', '40'));
const vs = opt('vs');

function summarize(file) {
  const snap = JSON.parse(fs.readFileSync(file, 'utf8'));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const { nodes, strings } = snap;
  const out = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + iType]];
    let name = strings[nodes[i + iName]];
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '(string)';
    else if (type === 'code') name = '(code)';
    else if (type === 'closure') name = `closure ${name || '(anonymous)'}`;
    else if (type === 'array') name = `(array) ${name}`;
    else if (type === 'number') name = '(heap number)';
    else if (type === 'hidden' || type === 'object shape') name = `(${type}) ${name.slice(0, 40)}`;
    else if (type !== 'object') name = `(${type}) ${name.slice(0, 40)}`;
    const e = out.get(name) || { size: 0, count: 0 };
    e.size += nodes[i + iSize];
    e.count++;
    out.set(name, e);
  }
  return out;
}

const a = summarize(files[0]);
let rows;
if (vs) {
  const b = summarize(vs);
  rows = [...new Set([...a.keys(), ...b.keys()])].map((k) => {
    const x = a.get(k) || { size: 0, count: 0 };
    const y = b.get(k) || { size: 0, count: 0 };
    return [k, y.size - x.size, y.count - x.count];
  });
  rows.sort((p, q) => Math.abs(q[1]) - Math.abs(p[1]));
} else {
  rows = [...a.entries()].map(([k, e]) => [k, e.size, e.count]).sort((p, q) => q[1] - p[1]);
}
const total = rows.reduce((s, r) => s + r[1], 0);
process.stdout.write(`${vs ? 'difference' : 'total'}: ${(total / 1024 / 1024).toFixed(2)} MB${per > 1 ? `, ${(total / per).toFixed(0)} B per ${per}` : ''}\n`);
process.stdout.write(`${'bytes'.padStart(12)} ${per > 1 ? 'B/each'.padStart(8) : ''} ${'count'.padStart(9)} ${per > 1 ? 'n/each'.padStart(7) : ''}  name\n`);
for (const [k, size, count] of rows.slice(0, top)) {
  process.stdout.write(
    `${String(size).padStart(12)} ${per > 1 ? (size / per).toFixed(1).padStart(8) : ''} ${String(count).padStart(9)} ${per > 1 ? (count / per).toFixed(2).padStart(7) : ''}  ${k}\n`,
  );
}
