import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyPatch, EMBEDDED_ADDONS, PATCHES, PatchError, STUBBED, type Patch } from '../../build/patches.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const patch: Patch = { file: 'pkg/x.js', replacements: [{ from: 'await load();', to: 'loadSync();' }] };

test('applyPatch replaces the exact pattern', () => {
  assert.is(applyPatch('a; await load(); b', patch, '/x'), 'a; loadSync(); b');
});

test('applyPatch fails the build when the pattern is missing', () => {
  assert.throws(() => applyPatch('a; await load2(); b', patch, '/x'), (e: unknown) => e instanceof PatchError && /pkg\/x\.js/.test((e as Error).message));
});

test('applyPatch refuses an ambiguous pattern', () => {
  assert.throws(() => applyPatch('await load(); await load();', patch, '/x'), /more than once/);
});

test('every shipped patch matches the installed dependency exactly once', () => {
  const nm = join(process.cwd(), 'node_modules');
  for (const p of PATCHES) {
    const abs = join(nm, p.file);
    const out = applyPatch(readFileSync(abs, 'utf8'), p, abs);
    for (const r of p.replacements) assert.not.ok(out.includes(r.from), `${p.file} still holds ${r.from}`);
  }
});

test('the stubbed optional modules are really optional requires of our dependencies', () => {
  assert.equal([...STUBBED].sort(), ['react-devtools-core', 'supports-color']);
  const req = createRequire(join(process.cwd(), 'package.json'));
  assert.ok(readFileSync(req.resolve('debug/src/node.js'), 'utf8').includes("require('supports-color')"));
});

test('every embedded native addon is found where the build takes it from, as an ELF shared object', () => {
  assert.ok(EMBEDDED_ADDONS.length > 0);
  for (const a of EMBEDDED_ADDONS) {
    const head = readFileSync(a.file()).subarray(0, 18);
    assert.is(head.subarray(0, 4).toString('latin1'), '\x7fELF', `${a.file()} is not an ELF file`);
    assert.is(head.readUInt16LE(16), 3, `${a.file()} is not a shared object (ET_DYN)`);
  }
});

test.run();
