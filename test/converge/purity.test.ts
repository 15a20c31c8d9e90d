import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const PURE = ['dataset-state', 'changes', 'desired', 'transitions', 'plan', 'progress', 'peers', 'guard', 'expected'];

for (const name of PURE) {
  test(`src/converge/${name}.ts imports only the model and its pure siblings, and reads no clock`, () => {
    const text = readFileSync(new URL(`../../src/converge/${name}.ts`, import.meta.url), 'utf8');
    const specs = [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
    for (const s of specs) {
      const ok = s.startsWith('../model/') || PURE.some((p) => s === `./${p}.js`);
      assert.ok(ok, `${name}.ts imports ${s}`);
    }
    assert.not.match(text, /Date\.now|Math\.random|process\./);
  });
}

test.run();
