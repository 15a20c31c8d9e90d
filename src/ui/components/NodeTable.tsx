import { Box, Text } from 'ink';
import type { NodeRow } from '../view-model.js';
import Cell from './Cell.js';

type Props = Readonly<{ nodes: readonly NodeRow[]; maxRows: number; width: number }>;

export default function NodeTable({ nodes, maxRows, width }: Props) {
  const shown = nodes.slice(0, maxRows);
  const hidden = nodes.length - shown.length;
  const hostWidth = Math.max(12, Math.min(30, width - 52));
  return (
    <Box flexDirection="column">
      <Text bold>NODES <Text dimColor>({nodes.length}{hidden > 0 ? `, ${hidden} more not shown` : ''})</Text></Text>
      {shown.length === 0 ? <Text dimColor>  no node has reported yet</Text> : null}
      {shown.map((n) => (
        <Box key={n.uuid}>
          <Cell width={1} color={n.connected ? 'green' : 'red'}>{n.connected ? '●' : '○'}</Cell>
          <Cell width={8}>{n.short}</Cell>
          <Cell width={hostWidth}>{n.name !== undefined ? `${n.name} ${n.host}` : n.host}</Cell>
          <Cell width={22} color={n.connected ? undefined : 'red'}>{n.status}</Cell>
          <Text wrap="truncate-end" dimColor>{`${n.datasets} dataset${n.datasets === 1 ? '' : 's'}`}</Text>
        </Box>
      ))}
    </Box>
  );
}
