#!/usr/bin/env node
// `npm start` runs this first: build dist/ when it is missing or older than
// any source file, so a fresh clone starts with `npm ci && npm start`.
const { execFileSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const output = join(root, 'dist', 'main.js');

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

if (!existsSync(output) || statSync(output).mtimeMs < newestInput) {
  process.stderr.write('lifeline: building dist/ ...\n');
  execFileSync(process.execPath, [require.resolve('@nestjs/cli/bin/nest.js'), 'build'], { cwd: root, stdio: 'inherit' });
}
