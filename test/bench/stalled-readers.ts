// Figures: the control service's resident memory while 0, 1 and 3 /v1/events readers stop
// reading and datasets are created one by one (each create is one change, one event per reader).
import { runStalledReaders } from '../support/stalled-readers.js';

const DATASETS = Number(process.env.BENCH_STALLED_DATASETS ?? 400);
const METADATA = 4000;

for (const readers of [0, 1, 3]) {
  const r = await runStalledReaders({ readers, datasets: DATASETS, metadataBytes: METADATA });
  console.log(`stalled /v1/events readers: ${readers}: ${r.created} creates (~${METADATA} B metadata each) in ${r.seconds.toFixed(1)} s; `
    + `control RSS ${r.rssBeforeMb} MB before, ${r.rssPeakMb} MB peak, ${r.rssAfterCloseMb} MB after the readers closed; ${r.dropped} reader(s) dropped`);
}
