// A dashboard without a terminal, for test/bench/scale.ts: follows GET /v1/events in its own
// process as the dashboard does (followCluster, the history differ, updates coalesced into one
// render at most every 100 ms, the view model built per render) and prints one JSON line per
// render: how many datasets it shows and how far behind the server it is.
// Environment: FOLLOW_PORT, FOLLOW_CA, FOLLOW_CERT, FOLLOW_KEY (paths).
import { readFileSync } from 'node:fs';
import { createControlClient } from '../../src/client/control-client.js';
import { followCluster } from '../../src/client/follow.js';
import { advanceHistory } from '../../src/client/history.js';
import { CoalescedFeed } from '../../src/ui/hooks/use-cluster-feed.js';
import { DatasetRows } from '../../src/ui/dataset-rows.js';
import { buildViewModel } from '../../src/ui/view-model.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const client = createControlClient({
  host: '127.0.0.1', port: Number(env('FOLLOW_PORT')),
  caCert: readFileSync(env('FOLLOW_CA'), 'utf8'), cert: readFileSync(env('FOLLOW_CERT'), 'utf8'), key: readFileSync(env('FOLLOW_KEY'), 'utf8'),
});
const abort = new AbortController();
process.once('SIGTERM', () => process.exit(0));
const rows = new DatasetRows();
const feed = new CoalescedFeed((s) => {
  const vm = buildViewModel(s.snapshot, Date.now(), s.history, '', rows);
  const behindMs = s.status.kind === 'live' ? s.status.behindMs ?? 0 : -1;
  process.stdout.write(`${JSON.stringify({ configured: s.snapshot?.configuration.length ?? 0, shown: vm.datasetCount, behindMs })}\n`);
});
for await (const u of followCluster(client, { signal: abort.signal })) {
  if (u.kind !== 'event') continue;
  rows.note(u.snapshot, u.changed);
  const now = Date.now();
  feed.update((s) => ({
    snapshot: u.snapshot,
    history: advanceHistory(s.history, u.before, u.snapshot, now, {}, u.changed),
    status: { kind: 'live', behindMs: u.behindMs },
  }));
}
feed.close();
client.close();
