#!/usr/bin/env node
// `npm start` runs this first: build dist/ when it is missing or older than
// any source file, so a fresh clone starts with `npm ci && npm start`.
const { execFileSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const output = join(root, 'dist', 'main.js');
// The status page's bundle (scripts/build-status-page.js); `nest build` empties dist/ first.
const statusPage = join(root, 'dist', 'status', 'public', 'status.js');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs;
    if (mtime > newest) newest = mtime;
  }
  return newest;
}

const inputs = [join(root, 'src'), join(root, 'package-lock.json'), join(root, 'tsconfig.json'), join(root, 'tsconfig.build.json')];
const newestInput = Math.max(...inputs.map((p) => (statSync(p).isDirectory() ? newestMtime(p) : statSync(p).mtimeMs)));

const stale = (file) => !existsSync(file) || statSync(file).mtimeMs < newestInput;

if (stale(output)) {
  process.stderr.write('lifeline: building dist/ ...\n');
  execFileSync(process.execPath, [require.resolve('@nestjs/cli/bin/nest.js'), 'build'], { cwd: root, stdio: 'inherit' });
}
if (stale(statusPage)) {
  execFileSync(process.execPath, [join(__dirname, 'build-status-page.js')], { cwd: root, stdio: 'inherit' });
}
