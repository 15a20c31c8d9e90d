import { Box, Text } from 'ink';
import type { DatasetRow, NodeRow } from '../view-model.js';

type Props = Readonly<{ row: DatasetRow; targets: readonly NodeRow[]; choice: number; maxRows: number }>;

export default function MovePicker({ row, targets, choice, maxRows }: Props) {
  const top = Math.max(0, Math.min(choice - maxRows + 1, targets.length - maxRows));
  return (
    <Box flexDirection="column">
      <Text bold>{`MOVE ${row.label} (now on ${row.desiredShort}) TO:`}</Text>
      {targets.length === 0 ? <Text color="yellow">  there is no other node to move it to</Text> : null}
      {targets.slice(top, top + maxRows).map((n, i) => {
        const selected = top + i === choice;
        return (
          <Text key={n.uuid} inverse={selected} wrap="truncate-end">
            {`${selected ? '›' : ' '} ${n.short}  ${n.host}  ${n.status}`}
          </Text>
        );
      })}
    </Box>
  );
}
