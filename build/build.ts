// npm run build: src/main.ts -> dist/flocker.cjs (esbuild, patched) -> release/flocker, a Node 20
// single executable application (BUILD-NOTES.md). Prints each step with its time. Skips the
// work when nothing that goes into the binary changed since the last build (--force rebuilds).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMBEDDED_ADDONS, patchPlugin } from './patches.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const RELEASE = join(ROOT, 'release', 'flocker');
const DIST = join(ROOT, 'dist');
const BUNDLE = join(DIST, 'flocker.cjs');
const STAMP = join(DIST, 'build-stamp.txt');
/** The node running the build is the runtime we ship (here /usr/bin/node, Node 20). */
const NODE_BASE = process.execPath;
const SENTINEL = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

/** Hash of everything that goes into the binary: our sources, the lockfile, the build, the base node. */
export function inputsFingerprint(nodeBinary = NODE_BASE): string {
  const h = createHash('sha256');
  const inputs = [
    ...files(join(ROOT, 'src')),
    ...files(join(ROOT, 'build')).filter((f) => !f.endsWith('.mjs')),
    join(ROOT, 'package-lock.json'),
    join(ROOT, 'package.json'),
  ].sort();
  for (const f of inputs) {
    h.update(relative(ROOT, f));
    h.update(existsSync(f) ? readFileSync(f) : '');
  }
  const st = statSync(nodeBinary);
  h.update(`${process.version} ${st.size} ${st.mtimeMs}`);
  return h.digest('hex');
}

/** True when release/flocker exists and was built from exactly the current inputs. */
export function isFresh(fingerprint = inputsFingerprint()): boolean {
  return existsSync(RELEASE) && existsSync(STAMP) && readFileSync(STAMP, 'utf8') === fingerprint;
}

async function step<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  const started = performance.now();
  process.stdout.write(`build: ${name} ... `);
  try {
    const r = await fn();
    process.stdout.write(`${((performance.now() - started) / 1000).toFixed(2)} s\n`);
    return r;
  } catch (e) {
    process.stdout.write('FAILED\n');
    throw e;
  }
}

export async function bundle(outfile = BUNDLE): Promise<void> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [join(ROOT, 'src', 'main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    loader: { '.wasm': 'binary' },
    define: { 'process.env.NODE_ENV': '"production"' },
    legalComments: 'none',
    // A SEA has no ESM loader: a dynamic import() left in the bundle (esbuild keeps them for
    // externals such as node: builtins) fails with "A dynamic import callback was not specified".
    // This turns each into a require(), which a SEA serves for builtins.
    supported: { 'dynamic-import': false },
    logLevel: 'silent',
    plugins: [patchPlugin()],
  });
  for (const w of result.warnings) {
    // yoga's emscripten glue mentions import.meta.url for browsers; it is unused on node.
    if (/import\.meta/.test(w.text)) continue;
    process.stdout.write(`\n  warning: ${w.text}${w.location ? ` (${w.location.file}:${w.location.line})` : ''}`);
  }
}

/** Two test files may build at once: one builds, the other waits and then finds it fresh. */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = join(DIST, 'build.lock');
  mkdirSync(DIST, { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      const age = existsSync(lock) ? Date.now() - statSync(lock).mtimeMs : 0;
      if (age > 300_000) rmSync(lock, { recursive: true, force: true }); // left by a killed build
      else if (Date.now() > deadline) throw new Error(`another build holds ${lock}`);
      else await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export async function build(opts: { force?: boolean } = {}): Promise<void> {
  return withBuildLock(() => buildLocked(opts));
}

async function buildLocked(opts: { force?: boolean }): Promise<void> {
  const total = performance.now();
  const fingerprint = inputsFingerprint();
  if (!opts.force && isFresh(fingerprint)) {
    process.stdout.write(`build: ${relative(ROOT, RELEASE)} is up to date (inputs unchanged; --force rebuilds)\n`);
    return;
  }
  mkdirSync(DIST, { recursive: true });
  mkdirSync(join(ROOT, 'release'), { recursive: true });
  rmSync(STAMP, { force: true });

  await step('bundle src/main.ts -> dist/flocker.cjs (esbuild, patched)', () => bundle());
  const base = join(DIST, 'node-base');
  await step(`strip a copy of ${NODE_BASE}`, () => {
    try {
      execFileSync('strip', ['-o', base, NODE_BASE], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      // No binutils: an unstripped base works the same, only 12 MB bigger (BUILD-NOTES.md).
      process.stdout.write('(strip not installed: using an unstripped copy) ');
      copyFileSync(NODE_BASE, base);
    }
  });
  const seaConfig = join(DIST, 'sea-config.json');
  await step('make the SEA blob (node --experimental-sea-config)', () => {
    const template = JSON.parse(readFileSync(join(ROOT, 'build', 'sea-config.json'), 'utf8')) as Record<string, unknown>;
    const assets = Object.fromEntries(EMBEDDED_ADDONS.map((a) => [a.asset, a.file()]));
    writeFileSync(seaConfig, JSON.stringify({ ...template, main: BUNDLE, output: join(DIST, 'sea-prep.blob'), assets }, null, 2));
    execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  });
  const tmp = `${RELEASE}.tmp`;
  await step('inject the blob into release/flocker (postject)', () => {
    copyFileSync(base, tmp);
    const postject = join(ROOT, 'node_modules', 'postject', 'dist', 'cli.js');
    execFileSync(process.execPath, [postject, tmp, 'NODE_SEA_BLOB', join(DIST, 'sea-prep.blob'), '--sentinel-fuse', SENTINEL],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    chmodSync(tmp, 0o755);
  });
  await step('smoke test: release/flocker --version', () => {
    const out = execFileSync(tmp, ['--version'], { env: { PATH: '/nonexistent' }, encoding: 'utf8' });
    if (!/\d+\.\d+/.test(out)) throw new Error(`unexpected --version output: ${out}`);
    // rename only after it runs, so a broken build never replaces a working binary
    renameSync(tmp, RELEASE);
  });
  writeFileSync(STAMP, fingerprint);
  const mb = (statSync(RELEASE).size / 1e6).toFixed(1);
  process.stdout.write(`build: ${relative(ROOT, RELEASE)} (${mb} MB) in ${((performance.now() - total) / 1000).toFixed(1)} s\n`);
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  build({ force: process.argv.includes('--force') }).catch((e: unknown) => {
    process.stderr.write(`build failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
