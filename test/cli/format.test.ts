import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { datasetSizeOption } from '../../src/cli/format/size.js';
import { formatSize } from '../../src/model/size.js';
import { formatMetadata, parseMetadata } from '../../src/cli/format/metadata.js';
import { renderTable } from '../../src/cli/format/table.js';
import { LS_HEADERS, lsRows, lsTableRow, nodeTableRow } from '../../src/cli/format/datasets.js';
import { judgeWait } from '../../src/cli/format/wait.js';
import { datasetIdsForPrefix } from '../../src/cli/format/prefix.js';
import { parseTimeout, resolveOrThrow } from '../../src/cli/format/operator.js';
import { UserError } from '../../src/errors.js';
import { D1, D2, D3, N1, N2, N3, sampleSnapshot } from '../ui/fake-client.js';

function throwsUser(fn: () => unknown, message: string | RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, UserError);
    assert.match((e as Error).message, message);
    assert.not.match((e as Error).message, '\n');
    return;
  }
  assert.unreachable(`expected a UserError matching ${String(message)}`);
}

test('--size: binary units, decimals, bare bytes; problems are one line', () => {
  assert.is(datasetSizeOption('10G'), 10 * 2 ** 30);
  assert.is(datasetSizeOption('10gib'), 10 * 2 ** 30);
  assert.is(datasetSizeOption('1.5t'), 1.5 * 2 ** 40);
  assert.is(datasetSizeOption('512MB'), 512 * 2 ** 20);
  assert.is(datasetSizeOption('65536k'), 2 ** 26);
  assert.is(datasetSizeOption('1073741824'), 2 ** 30);
  throwsUser(() => datasetSizeOption('ten'), 'malformed size specification "ten"');
  throwsUser(() => datasetSizeOption('10X'), 'malformed size');
  throwsUser(() => datasetSizeOption('0'), 'positive');
  throwsUser(() => datasetSizeOption('-1G'), 'malformed size');
});

test('size column as flockerctl: GiB with two decimals', () => {
  assert.is(formatSize(50 * 2 ** 30, 'gib'), '50.00G');
  assert.is(formatSize(512 * 2 ** 20, 'gib'), '0.50G');
});

test('metadata: k=v pairs both ways; a malformed one is one clear line', () => {
  assert.equal(parseMetadata('name=web,tier=db'), { name: 'web', tier: 'db' });
  assert.equal(parseMetadata('a=b=c'), { a: 'b=c' });
  assert.equal(parseMetadata(''), {});
  throwsUser(() => parseMetadata('name'), 'malformed metadata specification "name"');
  throwsUser(() => parseMetadata('=x'), 'malformed metadata');
  assert.is(formatMetadata({ name: 'web', tier: 'db' }), 'name=web,tier=db');
});

test('tables: left-aligned, three spaces apart, a blank line before and after', () => {
  const t = renderTable(['A', 'BB'], [['xxx', 'y'], ['z', 'w']]);
  assert.is(t, '\nA     BB\nxxx   y\nz     w\n\n');
  // an emoji marker counts as two columns
  assert.is(renderTable(['S', 'X'], [['ok ✅', '1'], ['pending', '2']]), '\nS         X\nok ✅     1\npending   2\n\n');
});

test('ls rows: status from convergence, server of the configured primary, deleted only with -d', () => {
  const s = sampleSnapshot();
  s.nodes = s.nodes.filter((n) => n.uuid !== N3);
  s.configuration.push({ dataset_id: 'dead0000-0000-4000-8000-000000000000', primary: N1, deleted: true, metadata: {} });
  const rows = lsRows({ configuration: s.configuration, state: s.state, nodes: s.nodes, convergence: s.convergence }, { deleted: false });
  assert.equal(rows.map((r) => [r.dataset_id, r.status, r.host]), [[D1, 'attached', '10.0.0.1'], [D2, 'moving', '10.0.0.2'], [D3, 'error', null]]);
  assert.is(rows[2]!.reason, 'create failed');
  assert.equal(lsTableRow(rows[0]!, false), [D1, '10.00G', 'name=web-db', 'attached ✅', '-', '11111111 (10.0.0.1)']);
  assert.equal(lsTableRow(rows[2]!, false), [D3, '<no quota>', 'name=logs', 'error ❌', '-', '<missing>']);
  assert.is(lsTableRow(rows[0]!, true)[5], `${N1} (10.0.0.1)`);
  const named = lsRows({ configuration: s.configuration, state: s.state, nodes: s.nodes.map((n) => ({ ...n, name: `n-${n.host}` })), convergence: s.convergence }, { deleted: false });
  assert.is(lsTableRow(named[0]!, false)[4], 'n-10.0.0.1', 'NODE: the name of the configured primary');
  const all = lsRows({ configuration: s.configuration, state: s.state, nodes: s.nodes, convergence: s.convergence }, { deleted: true });
  assert.is(all[3]!.status, 'deleted');
  const table = renderTable(LS_HEADERS, rows.map((r) => lsTableRow(r, false)));
  assert.match(table, /^\nDATASET\s+SIZE\s+METADATA\s+STATUS\s+NODE\s+SERVER\n/);
});

test('ls rows without convergence: flockerctl rules (pending, attached, detached, deleting)', () => {
  const s = sampleSnapshot();
  const rows = lsRows({
    configuration: [...s.configuration, { dataset_id: 'dead0000-0000-4000-8000-000000000000', primary: N1, deleted: true, metadata: {} }],
    state: [{ dataset_id: D1, primary: N1 }, { dataset_id: D2 }, { dataset_id: 'dead0000-0000-4000-8000-000000000000', primary: N1 }],
    nodes: s.nodes, convergence: [],
  }, { deleted: false });
  assert.equal(rows.map((r) => r.status), ['attached', 'detached', 'pending', 'deleting']);
});

test('node rows: short uuid unless long', () => {
  assert.equal(nodeTableRow({ uuid: N2, host: '10.0.0.2' }, false), ['22222222', '10.0.0.2', '-']);
  assert.equal(nodeTableRow({ uuid: N2, host: '10.0.0.2', name: 'db-2' }, true), [N2, '10.0.0.2', 'db-2']);
});

test('--wait verdicts: attached on the node is done, error fails with the reason, otherwise the phase and reason', () => {
  const s = sampleSnapshot();
  assert.equal(judgeWait(s, { kind: 'on-node', datasetId: D1, node: N1 }), { kind: 'done', line: 'dataset d1d1d1d1 is attached on 11111111 (10.0.0.1)' });
  assert.equal(judgeWait(s, { kind: 'on-node', datasetId: D2, node: N2 }), { kind: 'waiting', line: 'dataset d2d2d2d2: moving-out: node 11111111 is unmounting it' });
  assert.equal(judgeWait(s, { kind: 'on-node', datasetId: D3, node: N3 }), { kind: 'waiting', line: 'dataset d3d3d3d3: error: losetup failed: no free loop device' });
  assert.is(judgeWait(s, { kind: 'gone', datasetId: D1 }).kind, 'waiting');
  s.configuration[0] = { ...s.configuration[0]!, deleted: true };
  s.state = s.state.filter((d) => d.dataset_id !== D1);
  s.convergence = s.convergence.filter((d) => d.dataset_id !== D1);
  assert.equal(judgeWait(s, { kind: 'gone', datasetId: D1 }), { kind: 'done', line: 'dataset d1d1d1d1 destroyed' });
});

test('prefixes: live datasets first, flockerctl messages', () => {
  const ds = [
    { dataset_id: 'abc1', primary: N1, deleted: true, metadata: {} },
    { dataset_id: 'abc2', primary: N1, deleted: false, metadata: {} },
  ];
  assert.equal(datasetIdsForPrefix(ds, 'abc'), ['abc2']);
  assert.equal(datasetIdsForPrefix(ds, 'abc1'), ['abc1', 'abc2']);
  assert.is(resolveOrThrow('ABC2', ['abc2'], 'dataset'), 'abc2');
  throwsUser(() => resolveOrThrow('x', ['abc2'], 'node'), 'no node uuids matching x');
  throwsUser(() => resolveOrThrow('a', ['ab', 'ac'], 'dataset'), 'a is ambiguous dataset');
});

test('--timeout accepts seconds, s and m suffixes', () => {
  assert.is(parseTimeout('120'), 120_000);
  assert.is(parseTimeout('90s'), 90_000);
  assert.is(parseTimeout('2m'), 120_000);
  throwsUser(() => parseTimeout('soon'), '--timeout must be a duration');
});

test('dataset sizes: under 64M is refused in words, decimals are rounded up to whole KiB', () => {
  assert.throws(() => datasetSizeOption('10M'), /too small: a dataset must be at least 64M/);
  assert.is(datasetSizeOption('64M'), 67108864);
  const b = datasetSizeOption('1.3G');
  assert.is(b % 1024, 0);
  assert.ok(b >= 1.3 * 2 ** 30 && b - 1.3 * 2 ** 30 < 1024);
});

test.run();
