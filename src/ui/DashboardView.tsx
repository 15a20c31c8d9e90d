// Presentational: the whole screen from the view model, the UI state and the terminal size.
// Used by the live container and by `--once` (renderToString).
import { Box } from 'ink';
import type { FeedStatus } from './hooks/use-cluster-feed.js';
import { moveTargets, selectedIndex, type UiState } from './interaction.js';
import type { Layout, ViewModel } from './view-model.js';
import Header from './components/Header.js';
import NodeTable from './components/NodeTable.js';
import DatasetTable from './components/DatasetTable.js';
import LeaseLine from './components/LeaseLine.js';
import EventLog from './components/EventLog.js';
import DetailPane from './components/DetailPane.js';
import MovePicker from './components/MovePicker.js';
import Footer from './components/Footer.js';

export type Props = Readonly<{
  title: string;
  vm: ViewModel;
  ui: UiState;
  status: FeedStatus;
  now: number;
  columns: number;
  /** Lines the frame may use (one fewer than the terminal: see layoutFor). */
  height: number;
  layout: Layout;
  top: number;
  flash?: { text: string; error: boolean };
  /** @default true; off for plain-text snapshots. */
  footer?: boolean;
}>;

export default function DashboardView({ title, vm, ui, status, now, columns, height, layout, top, flash, footer = true }: Props) {
  const rows = vm.datasets;
  const selected = rows[selectedIndex(ui, rows)];
  const mode = ui.mode;
  const bodyRows = height - 2;
  const target = mode.kind === 'detail' || mode.kind === 'move' || mode.kind === 'confirm-delete'
    ? rows.find((r) => r.id === mode.datasetId) : undefined;
  let body;
  if (mode.kind === 'detail' && target) {
    body = <DetailPane row={target} lease={vm.leases.find((l) => l.datasetId === target.id)} maxRows={bodyRows} now={now} />;
  } else if (mode.kind === 'move' && target) {
    body = <MovePicker row={target} targets={moveTargets({ datasets: rows, nodes: vm.nodes, page: 1 }, target.id)} choice={mode.choice} maxRows={bodyRows - 1} />;
  } else {
    body = (
      <>
        <NodeTable nodes={vm.nodes} maxRows={layout.nodeRows} width={columns} />
        <DatasetTable rows={rows} total={vm.datasetCount} selectedId={selected?.id} top={top} maxRows={layout.datasetRows} width={columns} filter={ui.filter} now={now} />
        {layout.showLeases ? <LeaseLine leases={vm.leases} /> : null}
        {layout.logRows > 0 ? <EventLog entries={vm.log} maxRows={layout.logRows} /> : null}
      </>
    );
  }
  return (
    <Box flexDirection="column" width={columns} height={height} overflow="hidden">
      <Header title={title} summary={vm.summary} status={status} errors={vm.counts.error} now={now} />
      <Box flexDirection="column" flexGrow={1} overflow="hidden">{body}</Box>
      {footer ? <Footer mode={mode} label={target?.label} flash={flash} filter={ui.filter !== '' ? { text: ui.filter, shown: rows.length, total: vm.datasetCount } : undefined} /> : null}
    </Box>
  );
}
