// Builds lifeline-client: ESM and CommonJS for Node and bundlers, the
// self-contained browser bundle, and type declarations (tsc).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
rmSync(join(root, 'dist'), { recursive: true, force: true });

const common = {
  entryPoints: [join(root, 'src/index.ts')],
  bundle: true,
  target: 'es2020',
  sourcemap: true,
  logLevel: 'warning',
};

await Promise.all([
  // Node and bundlers: `ws` stays an import, loaded only when no global WebSocket exists.
  build({ ...common, platform: 'node', format: 'esm', external: ['ws'], outfile: join(root, 'dist/esm/index.mjs') }),
  build({ ...common, platform: 'node', format: 'cjs', external: ['ws'], outfile: join(root, 'dist/cjs/index.cjs') }),
  // Browsers: one ES module, no imports; the `ws` branch is compiled out.
  build({
    ...common,
    platform: 'browser',
    format: 'esm',
    define: { __LIFELINE_NODE__: 'false' },
    outfile: join(root, 'dist/lifeline-client.browser.js'),
  }),
]);

execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
