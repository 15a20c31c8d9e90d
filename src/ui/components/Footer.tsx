import { Text } from 'ink';
import type { Mode } from '../interaction.js';

type Props = Readonly<{
  mode: Mode;
  label?: string;
  flash?: { text: string; error: boolean };
  /** The kept filter and how many rows it lets through. */
  filter?: { text: string; shown: number; total: number };
}>;

const HELP: Readonly<Record<Mode['kind'], string>> = {
  list: '↑↓/jk select  enter detail  m move  d delete  / filter  q quit',
  detail: 'esc back  m move  d delete  q quit',
  move: '↑↓ choose node  enter move  esc cancel',
  'confirm-delete': '',
  filter: '',
};

export default function Footer({ mode, label, flash, filter }: Props) {
  const matched = filter ? `${filter.shown} of ${filter.total} match` : '';
  if (mode.kind === 'filter') {
    return <Text wrap="truncate-end">/{filter?.text}<Text inverse> </Text><Text dimColor>{`  ${matched}  enter keep  esc clear`}</Text></Text>;
  }
  if (mode.kind === 'confirm-delete') {
    return <Text wrap="truncate-end" color="red" bold>{`Delete dataset ${label ?? mode.datasetId}? Its data will be destroyed. y/N`}</Text>;
  }
  if (flash) return <Text wrap="truncate-end" color={flash.error ? 'red' : 'green'}>{flash.text}<Text dimColor>  ({HELP[mode.kind]})</Text></Text>;
  if (filter && mode.kind === 'list') {
    return <Text wrap="truncate-end"><Text color="cyan">{`/${filter.text}  ${matched}`}</Text><Text dimColor>{`  esc clears  ${HELP.list}`}</Text></Text>;
  }
  return <Text wrap="truncate-end" dimColor>{HELP[mode.kind]}</Text>;
}
