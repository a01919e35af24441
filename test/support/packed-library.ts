import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const EXAMPLE = join(ROOT, 'examples', 'nest-app');
export const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  exports: Record<string, string | { types: string; default: string }>;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};
const CACHE = join(ROOT, 'node_modules', '.cache', 'nestjs-lifeline');

function files(dir: string, keep: (path: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? files(join(dir, entry.name), keep) : [join(dir, entry.name)]))
    .filter(keep)
    .sort();
}

function hashOf(paths: string[], extra = ''): string {
  const hash = createHash('sha256').update(extra);
  for (const path of paths) hash.update(relative(ROOT, path)).update('\0').update(readFileSync(path)).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/** Everything `files` in package.json puts in the tarball (built dist/ included). */
function packedInputs(): string[] {
  const dist = files(join(ROOT, 'dist'), (p) => (/\.(js|d\.ts)$/.test(p) && !/\.spec\./.test(p)) || p.includes('/dist/status/public/'));
  if (dist.length === 0) throw new Error('dist/ is empty: run `npm run build` first');
  return [...['package.json', 'README.md', '.env.example', 'bin/lifeline.js'].map((p) => join(ROOT, p)), ...dist];
}

/**
 * `npm pack` of the root package, cached by the hash of what goes into it,
 * so a repeated run without changes costs a hash of the files.
 */
export function packLibrary(): { tarball: string; hash: string } {
  const hash = hashOf(packedInputs());
  const dir = join(CACHE, 'pack', hash);
  const tarball = join(dir, `${PACKAGE.name}-${PACKAGE.version}.tgz`);
  if (!existsSync(tarball)) {
    rmSync(join(CACHE, 'pack'), { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    // --ignore-scripts: dist/ is built already (prepack would build it again).
    execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: ROOT, stdio: 'pipe' });
  }
  return { tarball, hash };
}

/**
 * Installs the tarball into the example the way `npm install <tarball>
 * --legacy-peer-deps` places it, without a registry: extracted into
 * examples/nest-app/node_modules/<name>. Its dependencies and peers resolve
 * from the repository's node_modules above (one copy of Nest for both). Then
 * builds the example with `tsc`, against the package's .d.ts through its
 * `exports` (node16 resolution). Both steps are skipped when nothing changed.
 */
export function installAndBuildExample(): { packageDir: string } {
  const { tarball, hash } = packLibrary();
  const packageDir = join(EXAMPLE, 'node_modules', PACKAGE.name);
  const installedMarker = join(packageDir, '.installed-from');
  if (!existsSync(installedMarker) || readFileSync(installedMarker, 'utf8') !== hash) {
    rmSync(packageDir, { recursive: true, force: true });
    mkdirSync(packageDir, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', packageDir, '--strip-components=1']);
    // Where the example's package.json points (file:.pack/nestjs-lifeline.tgz), for a manual `npm install`.
    mkdirSync(join(EXAMPLE, '.pack'), { recursive: true });
    writeFileSync(join(EXAMPLE, '.pack', `${PACKAGE.name}.tgz`), readFileSync(tarball));
    writeFileSync(installedMarker, hash);
  }
  const sources = files(join(EXAMPLE, 'src'), (p) => p.endsWith('.ts'));
  const buildHash = hashOf([...sources, join(EXAMPLE, 'tsconfig.json')], hash);
  const builtMarker = join(EXAMPLE, 'dist', '.built-from');
  if (!existsSync(builtMarker) || readFileSync(builtMarker, 'utf8') !== buildHash) {
    rmSync(join(EXAMPLE, 'dist'), { recursive: true, force: true });
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(EXAMPLE, 'tsconfig.json')], {
      cwd: EXAMPLE,
      stdio: 'pipe',
    });
    writeFileSync(builtMarker, buildHash);
  }
  return { packageDir };
}

/** Caret ranges only (what package.json uses): same major (minor for 0.x), not older. */
export function satisfiesCaret(version: string, range: string): boolean {
  const want = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(range);
  const have = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!want || !have) return false;
  const [w, h] = [want.slice(1).map(Number), have.slice(1).map(Number)];
  if (h[0] !== w[0] || (w[0] === 0 && h[1] !== w[1])) return false;
  for (let i = 0; i < 3; i++) if (h[i] !== w[i]) return h[i] > w[i];
  return true;
}

export const isExecutable = (path: string) => (statSync(path).mode & 0o111) !== 0;
