// A /v1/events reader that stops reading must not grow the control service without bound. Each
// of 400 creates (about 4 kB of metadata each) is one change. When every event carried a whole
// section, a stalled reader was owed the whole configuration 400 times over (≈490 MB of control
// RSS before the drop was added); now each event carries only what changed, so the reader is
// owed about 2 MB, stays under the 4 MB floor and is kept. Stated bound: 300 MB (≈175 MB with no
// reader at all; figures for 0, 1 and 3 readers: npm run bench -- stalled). The drop of a reader
// owed more than the floor: test/control/event-deltas.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runStalledReaders } from '../support/stalled-readers.js';

const BOUND_MB = 300;

test(`a stalled /v1/events reader while 400 datasets are created: control RSS stays under ${BOUND_MB} MB; owed only the changes, it is kept`, async () => {
  const r = await runStalledReaders({ readers: 1, datasets: 400, metadataBytes: 4000 });
  assert.is(r.created, 400);
  assert.ok(r.rssPeakMb < BOUND_MB, `control RSS peaked at ${r.rssPeakMb} MB (bound ${BOUND_MB} MB)`);
  assert.is(r.dropped, 0, `the stalled reader is owed about 2 MB, under the floor:\n${r.stderr.slice(-2000)}`);
});

test.run();
