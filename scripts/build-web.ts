/**
 * Builds the web app (packages/web) into packages/web/dist with Vite, only when the bundle is missing or
 * its sources changed: a SHA-256 over the sources, the build settings and the installed versions of the
 * libraries it bundles is kept in dist/.build-hash. `npm start` and the browser tests call it, so a fresh
 * clone needs no manual build step (npm install scripts may be disabled).
 *
 *   node scripts/build-web.ts           build if stale, print the bundle size
 *   node scripts/build-web.ts --force   always build
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
export const webRoot = join(root, 'packages/web');
export const webDist = join(webRoot, 'dist');
const HASH_FILE = '.build-hash';

/** Bumped when the build settings below change in a way the sources don't show. */
const BUILD_SETTINGS_VERSION = '1';

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

function installedVersion(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'missing';
  }
}

/** What the bundle is made from: sources, entry page, public files, and the bundled libraries' versions. */
export function sourceHash(): string {
  const hash = createHash('sha256');
  hash.update(`settings ${BUILD_SETTINGS_VERSION}\n`);
  for (const file of [join(webRoot, 'index.html'), join(webRoot, 'package.json'), ...filesUnder(join(webRoot, 'src')), ...filesUnder(join(webRoot, 'public'))]) {
    if (!existsSync(file)) continue;
    hash.update(`${relative(webRoot, file)}\n`);
    hash.update(readFileSync(file));
  }
  for (const pkg of ['vite', 'react', 'react-dom', 'matrix-js-sdk', '@matrix-org/matrix-sdk-crypto-wasm']) hash.update(`${pkg}@${installedVersion(pkg)}\n`);
  return hash.digest('hex');
}

export function bundleIsCurrent(): boolean {
  const file = join(webDist, HASH_FILE);
  return existsSync(join(webDist, 'index.html')) && existsSync(file) && readFileSync(file, 'utf8').trim() === sourceHash();
}

export interface BundleSize {
  files: number;
  bytes: number;
  /** JavaScript and CSS, gzip-compressed (what a browser downloads besides the crypto module). */
  codeGzipBytes: number;
  /** The Rust crypto WebAssembly module. */
  wasmBytes: number;
  wasmGzipBytes: number;
}

export function measureBundle(): BundleSize {
  const size: BundleSize = { files: 0, bytes: 0, codeGzipBytes: 0, wasmBytes: 0, wasmGzipBytes: 0 };
  for (const file of filesUnder(webDist)) {
    if (file.endsWith(HASH_FILE)) continue;
    const body = readFileSync(file);
    size.files += 1;
    size.bytes += statSync(file).size;
    if (/\.(js|css)$/.test(file)) size.codeGzipBytes += gzipSync(body).length;
    if (file.endsWith('.wasm')) {
      size.wasmBytes += body.length;
      size.wasmGzipBytes += gzipSync(body).length;
    }
  }
  return size;
}

const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

export function describeBundle(size: BundleSize): string {
  return (
    `web bundle: ${size.files} files, ${kib(size.bytes)} on disk; ` +
    `JS+CSS ${kib(size.codeGzipBytes)} gzipped; crypto wasm ${kib(size.wasmBytes)} (${kib(size.wasmGzipBytes)} gzipped)`
  );
}

/** Builds packages/web/dist when missing or stale (or always with `force`); returns whether it built. */
export async function buildWeb(options: { force?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  if (!options.force && bundleIsCurrent()) return false;
  // Test files run in parallel and each asks for the bundle: one builds, the others wait and reuse it
  // (two builds at once would empty dist/ under a server that is serving it).
  return withBuildLock(async () => (!options.force && bundleIsCurrent() ? false : runBuild(options)));
}

const BUILD_LOCK = join(webRoot, '.build-lock');
/** A lock older than this was left by a build that died. */
const STALE_LOCK_MS = 5 * 60_000;

async function withBuildLock<T>(work: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      closeSync(openSync(BUILD_LOCK, 'wx'));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - (statSync(BUILD_LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > STALE_LOCK_MS) rmSync(BUILD_LOCK, { force: true });
      await sleep(200);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(BUILD_LOCK, { force: true });
  }
}

async function runBuild(options: { quiet?: boolean }): Promise<boolean> {
  const hash = sourceHash();
  const { build } = await import('vite');
  const started = Date.now();
  await build({
    configFile: false,
    root: webRoot,
    base: '/',
    logLevel: options.quiet ? 'error' : 'warn',
    publicDir: join(webRoot, 'public'),
    build: {
      outDir: webDist,
      emptyOutDir: true,
      target: 'es2022',
      sourcemap: false,
      // The crypto wasm is ~8 MB; it must stay a separate file fetched by URL, never inlined.
      assetsInlineLimit: 0,
      chunkSizeWarningLimit: 4096,
      reportCompressedSize: false,
    },
  });
  writeFileSync(join(webDist, HASH_FILE), `${hash}\n`);
  if (!options.quiet) console.log(`${describeBundle(measureBundle())} (built in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return true;
}

if (import.meta.main) {
  const built = await buildWeb({ force: process.argv.includes('--force') });
  if (!built) console.log(`${describeBundle(measureBundle())} (up to date)`);
}
