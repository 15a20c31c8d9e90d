import { Text } from 'ink';
import type { LeaseRow } from '../view-model.js';

type Props = Readonly<{ leases: readonly LeaseRow[] }>;

/** Leases on one line: they are few, and they matter most when a move waits on one. */
export default function LeaseLine({ leases }: Props) {
  const text = leases.map((l) => `${l.label}→${l.node} (${l.expires})`).join(', ');
  return <Text wrap="truncate-end"><Text bold>LEASES </Text>{text}</Text>;
}
