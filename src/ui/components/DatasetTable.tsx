import { Box, Text } from 'ink';
import type { DatasetRow } from '../view-model.js';
import Cell from './Cell.js';
import { ago } from '../format.js';

type Props = Readonly<{
  rows: readonly DatasetRow[];
  /** Before the filter. */
  total: number;
  selectedId?: string;
  top: number;
  maxRows: number;
  width: number;
  filter: string;
  /** The clock the phases' durations are shown with. */
  now: number;
}>;

const PHASE_COLORS: Readonly<Record<string, string>> = {
  converged: 'green', error: 'red', unreachable: 'red', deleting: 'magenta', 'waiting-for-lease': 'yellow',
  'moving-out': 'yellow', 'moving-in': 'yellow', moving: 'yellow',
};

/** Column widths: the name and the reason take what the terminal has beyond 80 columns. */
function datasetColumns(width: number): { name: number; phase: number; reason: number } {
  const extra = Math.max(0, width - 80);
  const name = 14 + Math.min(16, Math.floor(extra / 3));
  const phase = 17;
  // marker 2, size 6, two node columns of 8, five gaps
  const reason = Math.max(0, width - (2 + name + 6 + 8 + 8 + phase + 6));
  return { name, phase, reason };
}

export default function DatasetTable({ rows, total, selectedId, top, maxRows, width, filter, now }: Props) {
  const cols = datasetColumns(width);
  const shown = rows.slice(top, top + maxRows);
  const below = Math.max(0, rows.length - top - shown.length);
  const count = filter !== '' ? `${rows.length}/${total}` : `${total}`;
  return (
    <Box flexDirection="column">
      <Box>
        <Cell width={1}>{' '}</Cell>
        <Cell width={cols.name} bold>{filter !== '' ? `DATASETS ${count}` : `DATASETS (${count})`}</Cell>
        <Cell width={6} bold>SIZE</Cell>
        <Cell width={8} bold>DESIRED</Cell>
        <Cell width={8} bold>ACTUAL</Cell>
        <Cell width={cols.phase} bold>PHASE</Cell>
        {cols.reason > 0 ? <Text bold wrap="truncate-end">{below > 0 ? `REASON (${below} more ↓)` : top > 0 ? `REASON (${top} more ↑)` : 'REASON'}</Text> : null}
      </Box>
      {shown.length === 0 ? <Text dimColor>  {total === 0 ? 'no datasets: create one with `flocker create --node PREFIX`' : 'no dataset matches the filter'}</Text> : null}
      {shown.map((r) => {
        const selected = r.id === selectedId;
        const marker = r.moving ? '⇄' : r.error ? '!' : ' ';
        return (
          <Box key={r.id}>
            <Cell width={1} color={r.error ? 'red' : 'yellow'}>{marker}</Cell>
            <Cell width={cols.name} inverse={selected} bold={selected}>{r.label}</Cell>
            <Cell width={6}>{r.size}</Cell>
            <Cell width={8}>{r.desiredShort}</Cell>
            <Cell width={8} color={r.moving ? 'yellow' : undefined}>{r.actualShort}</Cell>
            <Cell width={cols.phase} color={PHASE_COLORS[r.phase]}>{r.sinceMs !== undefined ? `${r.phase} ${ago(now - r.sinceMs)}` : r.phase}</Cell>
            {cols.reason > 0 ? <Text wrap="truncate-end" dimColor={!r.error} color={r.error ? 'red' : undefined}>{r.lastError && r.error ? r.lastError : r.reason}</Text> : null}
          </Box>
        );
      })}
    </Box>
  );
}
