// The container: subscribes to the cluster feed, keeps the UI state, turns keys into actions on
// the client. Everything it shows comes from the pure view model.
import { useApp, useInput, type Key } from 'ink';
import { useCallback, useMemo, useRef, useState } from 'react';
import type { ControlClient } from '../client/types.js';
import { errorMessage } from '../errors.js';
import { shortId } from '../model/ids.js';
import DashboardView from './DashboardView.js';
import { useClusterFeed } from './hooks/use-cluster-feed.js';
import type { BackoffOptions } from '../client/backoff.js';
import { useNow } from './hooks/use-now.js';
import { useTerminalSize } from './hooks/use-terminal-size.js';
import { INITIAL_UI, onKey, selectedIndex, type UiAction, type UiState } from './interaction.js';
import { buildViewModel, layoutFor, scrollTop } from './view-model.js';

export type Props = Readonly<{
  client: ControlClient;
  /** @default "flocker" */
  title?: string;
  backoff?: BackoffOptions;
}>;

export default function Dashboard({ client, title = 'flocker', backoff }: Props) {
  const feed = useClusterFeed(client, backoff);
  const now = useNow();
  const { columns, rows: termRows } = useTerminalSize();
  const { exit } = useApp();
  const [ui, setUi] = useState<UiState>(INITIAL_UI);
  const [flash, setFlash] = useState<{ text: string; error: boolean }>();
  const topRef = useRef(0);

  const vm = useMemo(() => buildViewModel(feed.snapshot, now, feed.history, ui.filter, feed.rows), [feed.snapshot, feed.history, now, ui.filter, feed.rows]);
  const layout = layoutFor(termRows, vm.nodes.length, vm.leases.length, vm.datasets.length);
  const selected = selectedIndex(ui, vm.datasets);
  const top = scrollTop(Math.max(0, selected), layout.datasetRows, vm.datasets.length, topRef.current);
  topRef.current = top;

  // Keys are handled against the latest state through refs, so the input handler keeps one
  // identity: Ink re-subscribes a changed handler only after a render, and keys typed in between
  // would otherwise be lost or read stale state.
  const latest = useRef({ ui, vm, page: layout.datasetRows });
  latest.current = { ui: latest.current.ui, vm, page: layout.datasetRows };

  const perform = useCallback((a: UiAction): void => {
    if (a.kind === 'quit') {
      exit();
      return;
    }
    const row = latest.current.vm.datasets.find((d) => d.id === a.datasetId);
    const label = row?.label ?? shortId(a.datasetId);
    const request = a.kind === 'move'
      ? client.moveDataset(a.datasetId, a.node).then(() => `move of ${label} to ${shortId(a.node)} requested`)
      : client.deleteDataset(a.datasetId).then(() => `${label} marked deleted`);
    request.then(
      (text) => { setFlash({ text, error: false }); feed.note('info', text); },
      (e: unknown) => {
        const text = `${a.kind} of ${label} failed: ${errorMessage(e)}`;
        setFlash({ text, error: true });
        feed.note('error', text);
      },
    );
  }, [client, exit, feed.note]);

  const onInput = useCallback((input: string, key: Key) => {
    const { ui: current, vm: shown, page } = latest.current;
    const r = onKey(current, input, key, { datasets: shown.datasets, nodes: shown.nodes, page });
    latest.current = { ...latest.current, ui: r.state };
    setFlash(undefined);
    setUi(r.state);
    if (r.action) perform(r.action);
  }, [perform]);
  useInput(onInput);

  return (
    <DashboardView
      title={title} vm={vm} ui={ui} status={feed.status} now={now}
      columns={columns} height={Math.max(12, termRows) - 1} layout={layout} top={top}
      {...(flash ? { flash } : {})}
    />
  );
}
