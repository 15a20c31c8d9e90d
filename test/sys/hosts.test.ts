// Simulated hosts (src/sys/netns): real network namespaces on a real bridge, real mount
// namespaces, a real loop-mounted ext4 inside one host. Needs root; skipped otherwise.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMountinfo } from '../../src/sys/mounts.js';
import { HostNetwork, HostsError, type Host } from '../../src/sys/netns/hosts.js';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { makeHosts, type TestHosts } from '../support/hosts.js';
import { until } from '../support/until.js';
import { skipTest } from '../support/skip.js';

const isRoot = process.getuid?.() === 0;

const defaultMounts = (): string[] => parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).map((m) => m.mountPoint);
const netnsList = (): string => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
const links = (): string => execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
const loopsBackedUnder = (dir: string): string[] =>
  execFileSync('losetup', ['--list', '--noheadings', '-O', 'NAME,BACK-FILE'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`${dir}/`));

/** A TCP server inside `host` that answers "hello from <name>"; resolves once it listens. */
async function server(h: TestHosts, host: Host, port: number): Promise<ChildProcess> {
  const code = `require('net').createServer((s) => s.end('hello from ${host.name}')).listen(${port}, '${host.address}', () => console.log('listening'))`;
  const p = h.net.spawnInHost(host, [process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout?.on('data', (c: Buffer) => { out += c.toString(); });
  await until(`the server in ${host.name}`, () => out.includes('listening'));
  return p;
}

/** From inside `from`: the server's answer, or "failed: ..." (connect timeout 1.5 s). */
function client(h: TestHosts, from: Host, to: string, port: number): Promise<string> {
  const code = `const s = require('net').connect(${port}, '${to}'); let d = '';
    const t = setTimeout(() => { console.log('failed: timeout'); process.exit(0); }, 1500);
    s.on('data', (c) => { d += c; }); s.on('end', () => { clearTimeout(t); console.log(d); });
    s.on('error', (e) => { clearTimeout(t); console.log('failed: ' + e.code); });`;
  return h.run(from, [process.execPath, '-e', code]).then((o) => o.trim());
}

test('two hosts have their own addresses and reach each other; link down cuts a host off, link up restores it', async () => {
  if (!isRoot) return skipTest('simulated hosts need root');
  const h = makeHosts(2);
  try {
    const [a, b] = h.hosts as [Host, Host];
    assert.is.not(a.address, b.address);
    assert.match(await h.run(a, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']), ` ${a.address}/24 `);
    assert.match(await h.run(b, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']), ` ${b.address}/24 `);
    assert.not.match(await h.run(a, ['ip', '-o', '-4', 'addr']), b.address, 'a host does not hold the other one\'s address');

    await server(h, a, 7001);
    assert.is(await client(h, b, a.address, 7001), 'hello from host-1');
    // The default namespace reaches every host through its own address on the bridge.
    const fromDefault = spawnSync(process.execPath, ['-e', `require('net').connect(7001, '${a.address}').on('data', (d) => process.stdout.write(d))`], { encoding: 'utf8', timeout: 10_000 });
    assert.is(fromDefault.stdout, 'hello from host-1');

    h.net.linkDown(a);
    assert.match(await client(h, b, a.address, 7001), /^failed: /);
    h.net.linkUp(a);
    await until('host-1 to be reachable again', async () => (await client(h, b, a.address, 7001)) === 'hello from host-1');
  } finally {
    await h.destroy();
  }
});

test('a loop-mounted ext4 made inside a host is invisible outside it, and destroy() unmounts and detaches it', async () => {
  if (!isRoot) return skipTest('simulated hosts need root');
  const h = makeHosts(2);
  const [a, b] = h.hosts as [Host, Host];
  const image = join(a.dir as string, 'image');
  const mountPoint = join(a.dir as string, 'mnt');
  try {
    // Attached by hand (no autoclear), as the backends do: only an explicit detach frees it.
    await h.run(a, ['sh', '-ec', `truncate -s 32M ${image}; mkfs.ext4 -q -F ${image}; mkdir ${mountPoint}; mount "$(losetup --find --show ${image})" ${mountPoint}; echo kept > ${mountPoint}/file`]);
    assert.match(await h.run(a, ['cat', '/proc/self/mountinfo']), ` ${mountPoint} `);
    assert.is((await h.run(a, ['cat', join(mountPoint, 'file')])).trim(), 'kept');
    assert.not.ok(defaultMounts().includes(mountPoint), 'the default namespace does not see the host\'s mount');
    assert.not.match(await h.run(b, ['cat', '/proc/self/mountinfo']), ` ${mountPoint} `, 'nor does another host');
    assert.is(loopsBackedUnder(h.dir).length, 1, 'loop devices are global: the host\'s one is listed here');
    // A host outlives its processes, like a machine: a later process finds the mount.
    assert.match(await h.run(a, ['cat', '/proc/self/mountinfo']), ` ${mountPoint} `);
  } finally {
    const report = await h.destroy();
    assert.equal(report.problems, []);
    assert.equal(report.unmounted, [mountPoint]);
    assert.is(report.detached.length, 1);
  }
  assert.equal(loopsBackedUnder(h.dir), [], 'no loop device left attached');
});

test('shareOut: what a host mounts below it is seen in the default namespace (not by other hosts); nothing else is', async () => {
  if (!isRoot) return console.log('skipped: simulated hosts need root');
  const h = makeHosts(2, { shareOut: true });
  const [a, b] = h.hosts as [Host, Host];
  const shared = join(a.shareOut as string, 'vol');
  const privateMount = join(a.dir as string, 'private');
  try {
    await h.run(a, ['sh', '-ec', `mkdir -p ${shared} ${privateMount}; mount -t tmpfs vol ${shared}; mount -t tmpfs priv ${privateMount}; echo in-a > ${shared}/f`]);
    assert.ok(defaultMounts().includes(shared), 'the shared mount reaches the default namespace');
    assert.is(readFileSync(join(shared, 'f'), 'utf8'), 'in-a\n');
    assert.not.ok(defaultMounts().includes(privateMount), 'a mount elsewhere does not');
    assert.not.match(await h.run(b, ['cat', '/proc/self/mountinfo']), ` ${shared} `, 'another host does not see it');
    await h.run(a, ['umount', shared]);
    await until('the unmount to propagate too', () => !defaultMounts().includes(shared));
    await h.run(a, ['mount', '-t', 'tmpfs', 'vol', shared]);
  } finally {
    const report = await h.destroy();
    assert.equal(report.problems, []);
  }
  assert.not.ok(defaultMounts().some((m) => m.startsWith(`${h.dir}/`)), 'nothing left mounted');
});

test('destroy() leaves no namespace, link, mount or process behind, and may be called again', async () => {
  if (!isRoot) return skipTest('simulated hosts need root');
  const h = makeHosts(3);
  const { bridge } = h.net;
  const runDir = `/run/flocker-hosts/${bridge}`;
  const sleeper = h.net.spawnInHost(h.hosts[2] as Host, ['sleep', '600'], { stdio: 'ignore' });
  const exited = new Promise((r) => sleeper.once('exit', r));
  await h.run(h.hosts[0] as Host, ['true']);
  assert.match(netnsList(), `${bridge}-host-1`);
  assert.match(links(), bridge);
  assert.ok(defaultMounts().includes(runDir));

  const report = await h.destroy();
  assert.equal(report.problems, []);
  await exited;
  assert.not.match(netnsList(), bridge);
  assert.not.match(links(), bridge);
  assert.not.ok(defaultMounts().some((m) => m.includes(bridge)), 'no namespace bind mount left');
  assert.not.ok(existsSync(runDir));
  assert.equal(await h.destroy(), { unmounted: [], detached: [], problems: [] });
  assert.throws(() => h.net.spawnInHost(h.hosts[0] as Host, ['true']), (e: Error) => e instanceof HostsError);
});

test('a host does not pin what others mounted before it: their loop device still detaches while the host lives', async () => {
  if (!isRoot) return console.log('skipped: simulated hosts need root');
  const dir = mkdtempSync(join(tmpdir(), 'flocker-hosts-pin-'));
  const image = join(dir, 'image');
  const mnt = join(dir, 'mnt');
  execFileSync('sh', ['-ec', `truncate -s 32M ${image}; mkfs.ext4 -q -F ${image}; mkdir ${mnt}`]);
  const device = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
  execFileSync('mount', [device, mnt]);
  let h: TestHosts | undefined;
  try {
    h = makeHosts(1);
    execFileSync('umount', [mnt]);
    execFileSync('losetup', ['--detach', device]);
    // A copy of the mount kept in the host would leave the device attached (marked to go later).
    await until(`${device} to be detached`, () => loopsBackedUnder(dir).length === 0, 5_000);
  } finally {
    await h?.destroy();
    spawnSync('umount', [mnt]);
    spawnSync('losetup', ['--detach', device]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('after the process that made the hosts is killed with -9, its state file is enough to remove everything', async () => {
  if (!isRoot) return console.log('skipped: simulated hosts need root');
  const dir = mkdtempSync(join(tmpdir(), 'flocker-hosts-kill-'));
  const stateFile = join(dir, 'hosts.json');
  const image = join(dir, 'host-1', 'image');
  const mnt = join(dir, 'host-1', 'mnt');
  const script = `import('${join(process.cwd(), 'src/sys/netns/hosts.ts')}').then(({ HostNetwork }) => {
    const net = HostNetwork.create([{ name: 'host-1', dir: '${join(dir, 'host-1')}' }], { stateFile: '${stateFile}' });
    net.spawnInHost(net.hosts[0], ['sh', '-ec', 'mkdir -p ${join(dir, 'host-1')}; truncate -s 32M ${image}; mkfs.ext4 -q -F ${image}; mkdir ${mnt}; mount "$(losetup --find --show ${image})" ${mnt}; echo ready; exec sleep 600'], { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  })`;
  const maker = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  maker.stdout?.on('data', (c: Buffer) => { out += c.toString(); });
  try {
    await until('the host to be made and used', () => out.includes('ready'), 60_000);
    maker.kill('SIGKILL');
    const bridge = (JSON.parse(readFileSync(stateFile, 'utf8')) as { bridge: string }).bridge;
    assert.match(netnsList(), bridge);
    assert.is(loopsBackedUnder(dir).length, 1);

    const report = HostNetwork.destroyLeftovers(stateFile);
    assert.equal(report.problems, []);
    assert.equal(report.unmounted, [mnt]);
    assert.not.match(netnsList(), bridge);
    assert.not.match(links(), bridge);
    assert.equal(loopsBackedUnder(dir), []);
    assert.not.ok(existsSync(stateFile));
    assert.equal(HostNetwork.destroyLeftovers(stateFile), { unmounted: [], detached: [], problems: [] }, 'nothing to do twice');
  } finally {
    maker.kill('SIGKILL');
    HostNetwork.destroyLeftovers(stateFile);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hosts whose maker was killed with -9 are swept by the next network made, namespaces, mounts and loop devices too', async () => {
  if (!isRoot) return console.log('skipped: simulated hosts need root');
  const dir = mkdtempSync(join(tmpdir(), 'flocker-hosts-orphan-'));
  const image = join(dir, 'host-1', 'image');
  const mnt = join(dir, 'host-1', 'mnt');
  // No state file of its own: only the run folder's record, as a test runner's timeout leaves it.
  const script = `import('${join(process.cwd(), 'src/sys/netns/hosts.ts')}').then(({ HostNetwork }) => {
    const net = HostNetwork.create([{ name: 'host-1', dir: '${join(dir, 'host-1')}' }]);
    console.log('bridge ' + net.bridge);
    net.spawnInHost(net.hosts[0], ['sh', '-ec', 'mkdir -p ${join(dir, 'host-1')}; truncate -s 32M ${image}; mkfs.ext4 -q -F ${image}; mkdir ${mnt}; mount "$(losetup --find --show ${image})" ${mnt}; echo ready; exec sleep 600'], { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  })`;
  const maker = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  maker.stdout?.on('data', (c: Buffer) => { out += c.toString(); });
  let next: HostNetwork | undefined;
  let bridge = '';
  try {
    await until('the host to be made and used', () => out.includes('ready'), 60_000);
    bridge = /bridge (\S+)/.exec(out)?.[1] ?? '';
    maker.kill('SIGKILL');
    await until('the maker to be gone', () => maker.exitCode !== null || maker.signalCode !== null);
    assert.match(netnsList(), bridge);
    assert.is(loopsBackedUnder(dir).length, 1);

    next = HostNetwork.create([{ name: 'host-1' }]);
    assert.not.match(netnsList(), `${bridge}-`);
    assert.not.match(links(), `${bridge}:`);
    assert.equal(loopsBackedUnder(dir), []);
    assert.not.ok(defaultMounts().includes(mnt));
  } finally {
    maker.kill('SIGKILL');
    await next?.destroy();
    if (bridge) HostNetwork.destroyLeftovers(`/run/flocker-hosts/${bridge}/state.json`);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the run folder of a dead network (a teardown that met a problem, nobody left to retry) is swept by the next network', async () => {
  if (!isRoot) return console.log('skipped: simulated hosts need root');
  const dead = '/run/flocker-hosts/flkdead';
  mkdirSync(dead, { recursive: true });
  const state = join(dead, 'state.json');
  writeFileSync(state, JSON.stringify({ bridge: 'flkdead', runDir: dead, bridgeMade: true, runDirMounted: false,
    hosts: [{ name: 'h', index: 1, netns: 'flkdead-h', address: '10.1.1.2', mountNs: join(dead, 'h.mnt'), vethHost: 'flkdeadh1' }] }));
  utimesSync(state, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
  const h = makeHosts(1);
  try {
    assert.not.ok(existsSync(dead));
  } finally {
    await h.destroy();
    rmSync(dead, { recursive: true, force: true });
  }
});

test('not root: a one-line HostsError, nothing made', () => {
  const script = `import('${join(process.cwd(), 'src/sys/netns/hosts.ts')}').then(({ HostNetwork }) => {
    try { HostNetwork.create([{ name: 'x' }]); } catch (e) { console.log(e.name + ': ' + e.message); } })`;
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', '-e', script],
    { encoding: 'utf8', timeout: 30_000 });
  if (r.error || (r.status !== 0 && /setpriv/.test(r.stderr))) return skipTest('setpriv unavailable');
  assert.match(r.stdout, /^HostsError: simulated hosts need root .*run as root/);
});

test.run();
