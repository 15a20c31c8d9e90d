import { Box, Text } from 'ink';
import type { DatasetRow, LeaseRow } from '../view-model.js';
import { ago, clock } from '../format.js';

type Props = Readonly<{ row: DatasetRow; lease?: LeaseRow; maxRows: number; now: number }>;

export default function DetailPane({ row, lease, maxRows, now }: Props) {
  const meta = Object.entries(row.metadata).map(([k, v]) => `${k}=${v}`).join(', ') || '(none)';
  const lines: [string, string][] = [
    ['dataset', row.id],
    ['metadata', meta],
    ['size', row.size],
    ['desired', row.desired],
    ['actual', row.actual ?? '(not attached anywhere)'],
    ['path', row.path ?? '-'],
    ['phase', `${row.phase}${row.sinceMs !== undefined ? ` for ${ago(now - row.sinceMs)}` : ''}${row.reason ? `: ${row.reason}` : ''}`],
    ['lease', lease ? `held by ${lease.node}, expires ${lease.expires}` : 'none'],
    ['last error', row.lastError ?? 'none'],
  ];
  const historyRows = Math.max(1, maxRows - lines.length - 2);
  return (
    <Box flexDirection="column">
      <Text bold>{`DATASET ${row.label}`}{row.deleted ? <Text color="magenta"> (deleted)</Text> : null}</Text>
      {lines.map(([k, v]) => (
        <Box key={k}>
          <Box width={11} flexShrink={0}><Text dimColor>{k}</Text></Box>
          <Text wrap="truncate-end" color={k === 'last error' && row.lastError ? 'red' : undefined}>{v}</Text>
        </Box>
      ))}
      <Text bold>PHASES SEEN</Text>
      {row.history.length === 0 ? <Text dimColor>  none reported yet</Text> : null}
      {row.history.slice(-historyRows).map((p, i) => (
        <Text key={`${p.at}-${i}`} wrap="truncate-end"><Text dimColor>{clock(p.at)} </Text>{p.phase}{p.reason ? `: ${p.reason}` : ''}</Text>
      ))}
    </Box>
  );
}
