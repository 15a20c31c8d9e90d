// Ink and React (and yoga's top-level await) must load only when the dashboard runs: walk the
// static imports reachable from src/main.ts and make sure none reaches them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(fileURLToPath(new URL('../../src', import.meta.url)));
// `import ... from 'x'` and `export ... from 'x'`, but not `import('x')` (lazy) or `import type`.
const STATIC = /^\s*(?:import|export)\s+(?!type\b)(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]/gm;

function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(STATIC)) {
      const spec = m[1]!;
      if (!spec.startsWith('.')) {
        packages.add(spec);
        continue;
      }
      const js = resolve(dirname(file), spec);
      const candidates = [js.replace(/\.js$/, '.ts'), js.replace(/\.js$/, '.tsx')];
      const found = candidates.find((c) => { try { readFileSync(c); return true; } catch { return false; } });
      if (found) visit(found);
    }
  };
  visit(entry);
  return { files, packages };
}

test('nothing imported statically from main.ts reaches src/ui, ink or react', () => {
  const g = staticGraph(join(SRC, 'main.ts'));
  assert.ok(g.files.has(join(SRC, 'cli', 'commands', 'dashboard.ts')), 'the walk should reach the dashboard command');
  // src/ui/load.ts is the lazy gate itself (it imports nothing and loads the UI with import()).
  const ui = [...g.files].filter((f) => f.startsWith(join(SRC, 'ui')) && f !== join(SRC, 'ui', 'load.ts'));
  assert.equal(ui, []);
  assert.not.match(readFileSync(join(SRC, 'ui', 'load.ts'), 'utf8'), STATIC, 'the gate must not import anything statically');
  assert.not.ok(g.packages.has('ink'), 'ink is imported statically');
  assert.not.ok(g.packages.has('react'), 'react is imported statically');
});

test('the walk does see static imports (it would catch an eager one)', () => {
  const g = staticGraph(join(SRC, 'ui', 'run.ts'));
  assert.ok(g.packages.has('ink'));
  assert.ok(g.files.has(join(SRC, 'ui', 'Dashboard.tsx')));
});

test('src/ui imports neither roles nor sys', () => {
  const g = staticGraph(join(SRC, 'ui', 'run.ts'));
  const bad = [...g.files].filter((f) => f.startsWith(join(SRC, 'roles')) || f.startsWith(join(SRC, 'sys')));
  assert.equal(bad, []);
});

test.run();
