#!/usr/bin/env node
'use strict';
/**
 * Summarises a .cpuprofile (from `npm run bench -- --profile`): self and
 * total time per function, heaviest first.
 *
 *   node bench/tools/profile-summary.js bench/results/profiles/lifeline-idle-heartbeat.cpuprofile [top=30] [filter]
 */
const fs = require('node:fs');
const path = require('node:path');

const [file, topArg = '30', filter] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-summary.js <file.cpuprofile> [top] [url-or-name filter]\n');
  process.exit(2);
}
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const totalMs = (profile.endTime - profile.startTime) / 1000;
const sampleMs = totalMs / Math.max(1, profile.samples.length);

const key = (n) => {
  const { functionName, url, lineNumber } = n.callFrame;
  const where = url ? `${path.relative(process.cwd(), url.replace('file://', ''))}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'} ${where}`.trim();
};

const self = new Map();
const total = new Map();
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);

for (const n of profile.nodes) {
  const k = key(n);
  self.set(k, (self.get(k) || 0) + (n.hitCount || 0) * sampleMs);
}
// Total time: each sample counts once for every distinct function on its stack.
const counts = new Map();
for (const id of profile.samples) counts.set(id, (counts.get(id) || 0) + 1);
for (const [id, hits] of counts) {
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = key(byId.get(cur));
    if (seen.has(k)) continue;
    seen.add(k);
    total.set(k, (total.get(k) || 0) + hits * sampleMs);
  }
}

const top = Number(topArg);
const show = (title, map) => {
  process.stdout.write(`\n${title} (profile ${totalMs.toFixed(0)} ms)\n`);
  [...map.entries()]
    .filter(([k]) => !filter || k.includes(filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([k, ms]) => process.stdout.write(`${ms.toFixed(1).padStart(9)} ms ${((ms / totalMs) * 100).toFixed(1).padStart(5)}%  ${k}\n`));
};
show('Self time', self);
show('Total time', total);
