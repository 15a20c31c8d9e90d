// The pure and file-level pieces of `cluster up`: layout, agent.yml, certificates, log tails, event log.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAgentConfig } from '../../src/config/agent-config.js';
import { agentYml, replicaOrder } from '../../src/roles/cluster/agent-yml.js';
import { ensureClusterCerts } from '../../src/roles/cluster/certs.js';
import { advance, EMPTY_HISTORY } from '../../src/client/history.js';
import { clusterLayout, replicaAddresses } from '../../src/roles/cluster/layout.js';
import { checkClusterBackend, CLUSTER_BACKENDS } from '../../src/roles/cluster/backends.js';
import { parse as parseYaml } from 'yaml';
import { lastMeaningfulLine } from '../../src/roles/cluster/tail.js';
import { lockClusterDir } from '../../src/roles/cluster/lock.js';
import { UserError } from '../../src/errors.js';
import { existsSync } from 'node:fs';
import type { ClusterSnapshot } from '../../src/protocol/events.js';
import { identityFromPem } from '../../src/tls/identity.js';

const dir = mkdtempSync(join(tmpdir(), 'flocker-cluster-units-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('plugin sockets: in each node folder by default, or named flocker-node-N in --plugin-dir', () => {
  assert.equal(clusterLayout(join(dir, 'c'), 2).nodes.map((n) => n.pluginSocket),
    [join(dir, 'c', 'node-1', 'plugin.sock'), join(dir, 'c', 'node-2', 'plugin.sock')]);
  assert.equal(clusterLayout(join(dir, 'c'), 2, '/run/docker/plugins').nodes.map((n) => n.pluginSocket),
    ['/run/docker/plugins/flocker-node-1.sock', '/run/docker/plugins/flocker-node-2.sock']);
});

test('the agent.yml we write is one the agent accepts, with our paths and ports', () => {
  const layout = clusterLayout(join(dir, 'c'), 2);
  const n = layout.nodes[1]!;
  const text = agentYml({
    name: n.name, controlServices: [{ hostname: '127.0.0.1', port: 40001 }], apiPort: 40000, backend: 'directory', pool: layout.pool,
    mountRoot: n.mountRoot, certificatesDir: n.certsDir, stateDir: n.stateDir, pluginSocket: n.pluginSocket,
  });
  const cfg = parseAgentConfig(text, n.config);
  assert.equal(cfg.controlService, { hostname: '127.0.0.1', port: 40001 });
  assert.is(cfg.name, 'node-2');
  assert.is(cfg.dataset.backend, 'directory');
  assert.is(cfg.dataset.rootPath, layout.pool);
  assert.is(cfg.dataset.mountRoot, join(layout.dir, 'node-2', 'mnt'));
  assert.is(cfg.certificatesDir, n.certsDir);
  assert.is(cfg.stateDir, n.stateDir);
  assert.equal(cfg.plugin, { socket: n.pluginSocket, apiPort: 40000 });
});

test('with several replicas every agent lists them all, starting at replica i mod N', () => {
  const replicas = ['a', 'b', 'c'];
  assert.equal([0, 1, 2, 3, 4].map((i) => replicaOrder(replicas, i)), [
    ['a', 'b', 'c'], ['b', 'c', 'a'], ['c', 'a', 'b'], ['a', 'b', 'c'], ['b', 'c', 'a'],
  ]);
  assert.equal(replicaOrder(['only'], 7), ['only']);
  assert.equal(replicas, ['a', 'b', 'c'], 'the input is left as it was');
  const layout = clusterLayout(join(dir, 'r'), 2);
  const n = layout.nodes[1]!;
  const ports = [{ hostname: '127.0.0.1', port: 41001 }, { hostname: '127.0.0.1', port: 41002 }];
  const cfg = parseAgentConfig(agentYml({
    name: n.name, controlServices: replicaOrder(ports, 1), apiPort: 41000, backend: 'directory', pool: layout.pool,
    mountRoot: n.mountRoot, certificatesDir: n.certsDir, stateDir: n.stateDir, pluginSocket: n.pluginSocket,
  }), n.config);
  assert.equal(cfg.controlServices, [{ hostname: '127.0.0.1', port: 41002 }, { hostname: '127.0.0.1', port: 41001 }]);
});

test('replicas on loopback each get an address of their own (to share ports); one replica or --isolate keep the one address', () => {
  assert.equal(replicaAddresses('127.0.0.1', 3, false), ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  assert.equal(replicaAddresses('127.0.0.1', 1, false), ['127.0.0.1']);
  assert.equal(replicaAddresses('10.77.0.1', 2, true), ['10.77.0.1', '10.77.0.1']);
});

test('pools: shared by every node, or one per node (p2p, --isolate) in its own folder', () => {
  const shared = clusterLayout(join(dir, 'c'), 2);
  assert.equal(shared.nodes.map((n) => n.pool), [shared.pool, shared.pool]);
  const own = clusterLayout(join(dir, 'c'), 2, undefined, true);
  assert.equal(own.nodes.map((n) => n.pool), [join(own.dir, 'node-1', 'pool'), join(own.dir, 'node-2', 'pool')]);
});

test('p2p: the agent.yml names the transfer port and address', () => {
  const n = clusterLayout(join(dir, 'c'), 1, undefined, true).nodes[0]!;
  const doc = parseYaml(agentYml({
    name: n.name, controlServices: [{ hostname: '10.1.2.1', port: 1 }], apiPort: 2, backend: 'p2p', pool: n.pool, mountRoot: n.mountRoot,
    certificatesDir: n.certsDir, stateDir: n.stateDir, pluginSocket: n.pluginSocket, transfer: { port: 4526, listen: '10.1.2.2' },
  })) as { dataset: unknown };
  assert.equal(doc.dataset, { backend: 'p2p', root_path: n.pool, mount_root: n.mountRoot, transfer: { port: 4526, listen: '10.1.2.2' } });
});

test('--backend: p2p is a choice; root needed for loopback, p2p and --isolate; unknown names listed', () => {
  assert.ok(CLUSTER_BACKENDS.includes('p2p'));
  assert.is(checkClusterBackend('directory', false, false), 'directory');
  assert.is(checkClusterBackend('loopback', true, true), 'loopback');
  assert.throws(() => checkClusterBackend('loopback', false, false), /run as root/);
  assert.throws(() => checkClusterBackend('directory', false, true), /--isolate .* run as root/);
  assert.throws(() => checkClusterBackend('zfs', true, false), /--backend must be one of directory, loopback, .*p2p/);
});

test('certificates: CA, control, user, plugin and one node cert per node; reused on the next run', async () => {
  const layout = clusterLayout(join(dir, 'certs-test'), 2);
  const first = await ensureClusterCerts(layout);
  assert.is(first.nodeUuids.length, 2);
  assert.is.not(first.nodeUuids[0], first.nodeUuids[1]);
  for (const f of ['cluster.crt', 'cluster.key', 'control-service.crt', 'control-service.key', 'user.crt', 'user.key', 'plugin.crt', 'plugin.key']) {
    assert.ok(statSync(join(layout.certsDir, f)).isFile(), f);
  }
  for (const [i, n] of layout.nodes.entries()) {
    for (const f of ['cluster.crt', 'node.crt', 'node.key', 'plugin.crt', 'plugin.key']) assert.ok(statSync(join(n.certsDir, f)).isFile(), `${n.name}/${f}`);
    assert.is(statSync(join(n.certsDir, 'node.key')).mode & 0o777, 0o600);
    assert.is(statSync(join(n.certsDir, 'plugin.key')).mode & 0o777, 0o600);
    const id = identityFromPem(readFileSync(join(n.certsDir, 'node.crt'), 'utf8'));
    assert.is(id.cn, `node-${first.nodeUuids[i]}`);
  }
  assert.is(identityFromPem(readFileSync(join(layout.certsDir, 'user.crt'), 'utf8')).cn, 'user-user');
  assert.is(identityFromPem(readFileSync(join(layout.certsDir, 'plugin.crt'), 'utf8')).cn, 'user-plugin');

  const again = await ensureClusterCerts(layout);
  assert.equal(again.made, []);
  assert.equal(again.nodeUuids, first.nodeUuids);
  assert.is(again.clusterUuid, first.clusterUuid);

  const grown = await ensureClusterCerts(clusterLayout(layout.dir, 3));
  assert.equal(grown.made, ['node-3']);
  assert.equal(grown.nodeUuids.slice(0, 2), first.nodeUuids);
});

test('a dead child is summed up by its last log line (pino msg, or a plain line)', () => {
  assert.is(lastMeaningfulLine('{"level":30,"msg":"starting"}\n{"level":50,"msg":"cannot listen","err":{"message":"EADDRINUSE"}}\n\n'), 'cannot listen: EADDRINUSE');
  assert.is(lastMeaningfulLine('flocker: /x/agent.yml: version: must be 1\n'), 'flocker: /x/agent.yml: version: must be 1');
  assert.is(lastMeaningfulLine('\n\n'), undefined);
  const f = join(dir, 'log');
  writeFileSync(f, 'x'.repeat(1000));
  assert.ok((lastMeaningfulLine(readFileSync(f, 'utf8')) ?? '').length < 310);
});

const node = (uuid: string, connected = true) => ({ uuid, host: '127.0.0.1', era: 'e', connected, last_seen: '2026-01-01T00:00:00Z' });
const empty: ClusterSnapshot = { at: 0, configuration: [], tag: 't0', state: [], nodes: [], leases: [], convergence: [] };

test('the text log is the one snapshot differ with every phase: summary, then one line per change', () => {
  const ds = { dataset_id: 'dddddddd-9', primary: 'aaaaaaaa-1', deleted: false, metadata: { name: 'db' } };
  const row = { dataset_id: 'dddddddd-9', name: 'db', desired_node: 'bbbbbbbb-2', phase: 'moving-in' as const, reason: 'waiting for node aaaaaaaa to release it', since: 'x' };
  const s0: ClusterSnapshot = { ...empty, nodes: [node('aaaaaaaa-1')] };
  const s1: ClusterSnapshot = { ...s0, nodes: [node('aaaaaaaa-1', false), node('bbbbbbbb-2')] };
  const s2: ClusterSnapshot = { ...s1, configuration: [ds] };
  const s3: ClusterSnapshot = { ...s2, configuration: [{ ...ds, primary: 'bbbbbbbb-2' }] };
  const s4: ClusterSnapshot = { ...s3, convergence: [row] };
  const s5: ClusterSnapshot = { ...s4, convergence: [{ ...row, since: 'y' }] };
  const lines: string[] = [];
  let h = EMPTY_HISTORY;
  let before: ClusterSnapshot | undefined;
  for (const s of [s0, s1, s2, s3, s4, s5]) {
    const step = advance(h, before, s, 1, { everyPhase: true });
    h = step.history;
    before = s;
    lines.push(...step.added.map((l) => l.text));
  }
  assert.equal(lines, [
    'connected: 1 node(s), 0 dataset(s), 0/0 converged',
    'node aaaaaaaa (127.0.0.1) disconnected',
    'node bbbbbbbb (127.0.0.1) joined',
    'dataset db created on aaaaaaaa',
    'dataset db moving to bbbbbbbb',
    'dataset db: moving-in — waiting for node aaaaaaaa to release it',
  ], 'the same phase and reason again is quiet');
  assert.is(advance(EMPTY_HISTORY, s3, s4, 1).added.length, 0, 'the dashboard leaves ordinary phases to its table');
});

test('one cluster up per folder: a live owner refuses, a dead one is taken over', () => {
  const lockFile = join(dir, 'cluster.lock');
  writeFileSync(lockFile, `${process.ppid}\n`); // a live process that is not us
  assert.throws(() => lockClusterDir(lockFile, dir), (e: unknown) => e instanceof UserError && e.message.includes(`pid ${process.ppid}`));
  writeFileSync(lockFile, '2147483646\n'); // no such process
  const lock = lockClusterDir(lockFile, dir);
  assert.is(readFileSync(lockFile, 'utf8').trim(), String(process.pid));
  lock.release();
  assert.not.ok(existsSync(lockFile));
});

test.run();
