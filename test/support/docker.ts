// A Docker engine for tests. Uses the running one if `docker info` works; otherwise starts
// Debian's dockerd (vfs storage, no iptables, no bridge: works inside a container) in the
// background and leaves it running for the next test file. Images cannot be pulled here, so
// the test image is `docker import`ed from a root filesystem of busybox-static.
//
// System needs (what .ci/run must provide, or what this installs via apt when run as root):
//   docker.io (dockerd, containerd, runc; any docker CLI), busybox-static.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, copyFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TEST_IMAGE = 'flocker-test-busybox:1';
const ROOT = '/var/lib/flocker-test-docker';
const EXEC_ROOT = '/run/flocker-test-docker';
const LOCK = join(ROOT, 'start.lock');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type DockerEnv = { available: true; image: string } | { available: false; reason: string };

export function run(cmd: string, args: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 127) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && code === 127 ? err.message : '') });
    });
  });
}

/** `docker ARGS`; throws with stderr on failure. */
export async function docker(args: readonly string[], timeoutMs = 120_000): Promise<string> {
  const r = await run('docker', args, timeoutMs);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** Like docker() but returns the result, for commands expected to fail. */
export function dockerTry(args: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  return run('docker', args, timeoutMs);
}

async function which(bin: string): Promise<boolean> {
  return (await run('sh', ['-c', `command -v ${bin}`])).code === 0;
}

async function dockerInfoOk(): Promise<boolean> {
  return (await run('docker', ['info', '--format', '{{.ServerVersion}}'], 20_000)).code === 0;
}

async function aptInstall(pkgs: string[]): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return `not root: cannot apt-get install ${pkgs.join(' ')}`;
  if (!(await which('apt-get'))) return `no apt-get to install ${pkgs.join(' ')}`;
  const env = 'DEBIAN_FRONTEND=noninteractive';
  let r = await run('sh', ['-c', `${env} apt-get install -y -q ${pkgs.join(' ')}`], 600_000);
  if (r.code !== 0) {
    await run('sh', ['-c', 'apt-get update -q'], 600_000);
    r = await run('sh', ['-c', `${env} apt-get install -y -q ${pkgs.join(' ')}`], 600_000);
  }
  return r.code === 0 ? undefined : `apt-get install ${pkgs.join(' ')} failed: ${r.stderr.trim().split('\n').pop()}`;
}

/** One starter at a time across parallel test files: a mkdir lock, broken after 2 minutes. */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(ROOT, { recursive: true });
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      if (Date.now() - started > 120_000) {
        rmSync(LOCK, { recursive: true, force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

async function startDockerd(): Promise<string | undefined> {
  if (!(await which('dockerd'))) {
    const why = await aptInstall(['docker.io']);
    if (why) return why;
  }
  if (!(await which('docker'))) return 'the docker CLI is missing (apt-get install docker.io)';
  mkdirSync(join(ROOT, 'data'), { recursive: true });
  mkdirSync(EXEC_ROOT, { recursive: true });
  const logFile = join(ROOT, 'dockerd.log');
  const out = openSync(logFile, 'a');
  const child = spawn('dockerd', [
    '--storage-driver=vfs', '--iptables=false', '--bridge=none',
    '--data-root', join(ROOT, 'data'), '--exec-root', join(EXEC_ROOT, 'exec'),
    '--pidfile', join(EXEC_ROOT, 'docker.pid'),
  ], { detached: true, stdio: ['ignore', out, out] });
  // Deliberately left running for the next test file; it is one daemon per machine.
  child.unref();
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await dockerInfoOk()) return undefined;
    if (exited !== null) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
  return `dockerd did not come up (${exited !== null ? `exited ${exited}` : 'no answer in 60 s'}); ${logFile}: ${tail}`;
}

function findStaticBusybox(): string | undefined {
  for (const p of ['/bin/busybox', '/usr/bin/busybox', '/usr/lib/busybox/busybox']) {
    if (!existsSync(p)) continue;
    // A dynamically linked busybox would not run in an image with no libc.
    if (!readFileSync(p).subarray(0, 4096).includes('/lib64/ld-linux')) return p;
  }
  return undefined;
}

async function ensureImage(): Promise<string | undefined> {
  if ((await run('docker', ['image', 'inspect', TEST_IMAGE], 30_000)).code === 0) return undefined;
  let bb = findStaticBusybox();
  if (!bb) {
    const why = await aptInstall(['busybox-static']);
    if (why) return why;
    bb = findStaticBusybox();
    if (!bb) return 'no statically linked busybox found (apt-get install busybox-static)';
  }
  const root = mkdtempSync(join(tmpdir(), 'flocker-rootfs-'));
  try {
    for (const d of ['bin', 'tmp', 'data', 'etc', 'proc', 'sys', 'dev']) mkdirSync(join(root, d));
    copyFileSync(bb, join(root, 'bin', 'busybox'));
    chmodSync(join(root, 'bin', 'busybox'), 0o755);
    const applets = (await run(bb, ['--list'])).stdout.split('\n').filter((a) => /^[\w.[-]+$/.test(a) && a !== 'busybox');
    for (const a of applets.length > 0 ? applets : ['sh', 'cat', 'echo', 'ls', 'sleep', 'mkdir', 'rm', 'sync', 'true']) {
      symlinkSync('busybox', join(root, 'bin', a));
    }
    const r = await run('sh', ['-c', `tar -C '${root}' -c . | docker import - ${TEST_IMAGE}`], 120_000);
    if (r.code !== 0) return `docker import failed: ${r.stderr.trim()}`;
    return undefined;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

let cached: Promise<DockerEnv> | undefined;

/** A working engine and the test image, or why not (print it and skip). */
export function ensureDocker(): Promise<DockerEnv> {
  cached ??= (async (): Promise<DockerEnv> => {
    const why = await withLock(async () => {
      if (!(await dockerInfoOk())) {
        const e = await startDockerd();
        if (e) return e;
      }
      return ensureImage();
    });
    return why ? { available: false, reason: why } : { available: true, image: TEST_IMAGE };
  })();
  return cached;
}
