import { Box, Text } from 'ink';
import type { FeedStatus } from '../hooks/use-cluster-feed.js';

type Props = Readonly<{ title: string; summary: string; status: FeedStatus; errors: number; now: number }>;

/** What is shown is "live" only when it is less than this old. */
export const LIVE_WITHIN_MS = 1000;

export function statusText(s: FeedStatus, now: number): { text: string; color: string } {
  switch (s.kind) {
    case 'connecting': return { text: 'connecting…', color: 'yellow' };
    case 'live': {
      const where = s.address !== undefined ? ` · ${s.address}` : '';
      const behind = s.behindMs ?? 0;
      if (behind < LIVE_WITHIN_MS) return { text: `● live${where}`, color: 'green' };
      return { text: `● ${Math.round(behind / 1000)} s behind${where}`, color: 'yellow' };
    }
    case 'reconnecting': {
      const secs = Math.max(0, Math.ceil((s.retryAt - now) / 1000));
      // The reason is in the event log; the header stays short so the summary keeps its room.
      return { text: `reconnecting${secs > 0 ? ` in ${secs}s` : '…'} (attempt ${s.attempt})`, color: 'red' };
    }
  }
}

export default function Header({ title, summary, status, errors, now }: Props) {
  const st = statusText(status, now);
  return (
    <Box width="100%">
      <Box flexShrink={0} marginRight={1}><Text bold color="cyan">{title}</Text></Box>
      <Box flexGrow={1} flexShrink={1}>
        <Text wrap="truncate-end" color={errors > 0 ? 'red' : undefined}>{summary}</Text>
      </Box>
      <Box flexShrink={1} marginLeft={1}><Text wrap="truncate-end" color={st.color}>{st.text}</Text></Box>
    </Box>
  );
}
