// The folder rules of our architecture, checked on the import lines so a shortcut can't creep in:
// roles don't import each other, the model is pure, drivers never call the planner, only the
// CLI knows the command line.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const SRC = resolve(fileURLToPath(new URL('../../src', import.meta.url)));
// Static and lazy imports alike: a lazy import still couples the folders.
const IMPORT = /(?:^\s*(?:import|export)\b[^'"]*?from\s+|^\s*import\s+|import\()\s*['"]([^'"]+)['"]/gm;

interface Edge { readonly from: string; readonly to: string }

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.tsx?$/.test(name) ? [p] : [];
  });
}

const edges: Edge[] = sources(SRC).flatMap((file) =>
  [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => {
    const spec = m[1]!;
    const to = spec.startsWith('.') ? relative(SRC, resolve(dirname(file), spec)) : spec;
    return { from: relative(SRC, file), to };
  }));

const violations = (rule: (e: Edge) => boolean): string[] => edges.filter(rule).map((e) => `${e.from} -> ${e.to}`);

test('the walk sees imports (it would catch a violation)', () => {
  assert.ok(edges.some((e) => e.from === 'main.ts' && e.to === 'cli/commands/control.js'));
  assert.ok(edges.some((e) => e.from.startsWith('roles/control/') && e.to === 'koa'));
  assert.ok(edges.some((e) => e.from === 'ui/run.ts' && e.to === 'ink'));
  assert.ok(edges.some((e) => e.from === 'cli/commands/dashboard.ts' && e.to === 'ui/load.js'));
});

test('roles do not import each other', () => {
  const role = (p: string): string | undefined => /^roles\/([^/]+)\//.exec(p)?.[1];
  assert.equal(violations((e) => role(e.from) !== undefined && role(e.to) !== undefined && role(e.from) !== role(e.to)), []);
});

test('the model is pure: no node:* modules, no packages but immutable data structures, nothing outside src/model', () => {
  // `immutable` does no I/O: persistent maps for the configuration's records, behind model/id-map.ts.
  const allowed = (e: Edge): boolean => e.from === 'model/id-map.ts' && e.to === 'immutable';
  assert.equal(violations((e) => e.from.startsWith('model/') && !e.to.startsWith('model/') && !allowed(e)), []);
});

test('only model/id-map.ts imports immutable (the rest of the tree uses its types and helpers)', () => {
  assert.equal(violations((e) => /^immutable(\/|$)/.test(e.to) && e.from !== 'model/id-map.ts'), []);
});

test('backends, sys and transfer never reach the planner, the roles or the UI', () => {
  assert.equal(violations((e) => /^(backends|sys|transfer)\//.test(e.from) && /^(converge|roles|ui|cli)\//.test(e.to)), []);
});

test('layers point one way: sys never imports backends; backends never read config', () => {
  assert.equal(violations((e) => e.from.startsWith('sys/') && e.to.startsWith('backends/')), []);
  assert.equal(violations((e) => e.from.startsWith('backends/') && e.to.startsWith('config/')), []);
});

test('ink and react are imported only inside ui/, and ui/ is entered only through ui/load.ts', () => {
  const isInk = (to: string): boolean => /^(ink|react)(\/|$)/.test(to);
  assert.equal(violations((e) => isInk(e.to) && !e.from.startsWith('ui/')), []);
  assert.equal(violations((e) => !e.from.startsWith('ui/') && e.to.startsWith('ui/') && e.to !== 'ui/load.js'), []);
});

test('only main.ts and the CLI import the CLI', () => {
  assert.equal(violations((e) => e.to.startsWith('cli/') && !e.from.startsWith('cli/') && e.from !== 'main.ts'), []);
});

test('the UI reaches the cluster only through the client and the wire shapes', () => {
  assert.equal(violations((e) => e.from.startsWith('ui/') && /^(roles|sys|backends|store|converge|cli)\//.test(e.to)), []);
});

test('metrics only count: src/metrics knows no role, planner, UI or CLI (roles call it, never the reverse)', () => {
  assert.equal(violations((e) => e.from.startsWith('metrics/') && /^(roles|converge|ui|cli|backends|store)\//.test(e.to)), []);
});

test.run();
