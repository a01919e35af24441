#!/usr/bin/env node
// Bundles the status page (src/status/page) into dist/status/public: index.html,
// one script (status.js, uPlot included) and one style sheet (status.css). No
// CDN and no runtime download: the service serves these files itself.
const esbuild = require('esbuild');
const { copyFileSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const source = join(root, 'src', 'status', 'page');
const defaultOut = join(root, 'dist', 'status', 'public');

async function buildStatusPage(outdir = defaultOut) {
  mkdirSync(outdir, { recursive: true });
  await esbuild.build({
    entryPoints: { status: join(source, 'main.ts') },
    outdir,
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    // uPlot's MIT notice stays in the bundle.
    legalComments: 'inline',
    logLevel: 'warning',
    tsconfig: join(source, 'tsconfig.json'),
  });
  copyFileSync(join(source, 'index.html'), join(outdir, 'index.html'));
  return outdir;
}

module.exports = { buildStatusPage, defaultOut };

if (require.main === module) {
  buildStatusPage().then(
    (dir) => process.stderr.write(`lifeline: status page built in ${dir}\n`),
    (err) => {
      process.stderr.write(`lifeline: status page build failed: ${err.message}\n`);
      process.exit(1);
    },
  );
}
