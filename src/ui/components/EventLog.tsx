import { Box, Text } from 'ink';
import type { LogEntry } from '../../client/history.js';
import { clock } from '../format.js';

type Props = Readonly<{ entries: readonly LogEntry[]; maxRows: number }>;

const COLORS = { info: undefined, warn: 'yellow', error: 'red' } as const;

export default function EventLog({ entries, maxRows }: Props) {
  const shown = entries.slice(-maxRows);
  return (
    <Box flexDirection="column">
      <Text bold>EVENTS</Text>
      {shown.map((e, i) => (
        <Text key={`${e.at}-${i}`} wrap="truncate-end" color={COLORS[e.level]}>
          <Text dimColor>{clock(e.at)} </Text>{e.text}
        </Text>
      ))}
    </Box>
  );
}
