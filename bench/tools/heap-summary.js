#!/usr/bin/env node
'use strict';
/**
 * Summarises a .heapsnapshot (from `npm run bench -- --profile`): self size
 * and count per constructor / node type, biggest first. With a count, also
 * per connection. With a second snapshot, the difference (b - a).
 *
 *   node bench/tools/heap-summary.js a.heapsnapshot [--per=19000] [--top=40] [--vs=b.heapsnapshot]
 *        [--shapes]
 *
 * --shapes splits plain objects ("Object") by their property names, and
 * arrays, closures and heap numbers by what holds them (owner constructor
 * and edge name), so a per-connection object of one service shows up under
 * its own fields instead of the sum of every literal.
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
const shapes = args.includes('--shapes');

function summarize(file) {
  const snap = JSON.parse(fs.readFileSync(file, 'utf8'));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const { nodes, strings, edges } = snap;
  const detail = shapes ? shapeNames(snap) : undefined;
  const out = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + iType]];
    let name = strings[nodes[i + iName]];
    const special = detail?.get(i / width);
    if (special !== undefined) {
      const e = out.get(special) || { size: 0, count: 0 };
      e.size += nodes[i + iSize];
      e.count++;
      out.set(special, e);
      continue;
    }
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

/**
 * Names for --shapes: "Object {a,b,c}" for plain objects (their property
 * names), "<kind> in <Owner>.<edge>" for arrays, closures, heap numbers and
 * Map/Set backing stores (the first object that holds them).
 */
function shapeNames(snap) {
  const { nodes, edges, strings } = snap;
  const meta = snap.snapshot.meta;
  const width = meta.node_fields.length;
  const ew = meta.edge_fields.length;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const iType = meta.node_fields.indexOf('type');
  const iName = meta.node_fields.indexOf('name');
  const iEdges = meta.node_fields.indexOf('edge_count');
  const eType = meta.edge_fields.indexOf('type');
  const eName = meta.edge_fields.indexOf('name_or_index');
  const eTo = meta.edge_fields.indexOf('to_node');
  const names = new Map();
  const owner = new Map();
  let e = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const n = i / width;
    const type = nodeTypes[nodes[i + iType]];
    const name = strings[nodes[i + iName]];
    const props = [];
    const count = nodes[i + iEdges];
    for (let k = 0; k < count; k++, e += ew) {
      const et = edgeTypes[edges[e + eType]];
      const to = edges[e + eTo] / width;
      const label = et === 'element' || et === 'hidden' ? `[${edges[e + eName]}]` : strings[edges[e + eName]];
      if (et === 'property') props.push(label);
      if (et !== 'weak' && type !== 'hidden' && !owner.has(to) && name !== '(GC roots)') owner.set(to, `${name}.${label}`);
    }
    if (type === 'object' && name === 'Object') names.set(n, `Object {${props.sort().join(',')}}`.slice(0, 120));
  }
  for (let i = 0; i < nodes.length; i += width) {
    const n = i / width;
    const type = nodeTypes[nodes[i + iType]];
    if (type === 'array' || type === 'closure' || type === 'number' || (type === 'hidden' && strings[nodes[i + iName]].includes('Context'))) {
      if (owner.has(n)) names.set(n, `(${type}) ${strings[nodes[i + iName]].slice(0, 30)} in ${owner.get(n).slice(0, 80)}`);
    }
  }
  return names;
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
