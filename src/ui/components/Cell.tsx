import { Box, Text, type TextProps } from 'ink';

type Props = Readonly<{ width: number; children: string } & Pick<TextProps, 'color' | 'bold' | 'dimColor' | 'inverse'>>;

/** One fixed-width table cell: truncated, never wrapped, so rows stay one line. */
export default function Cell({ width, children, ...style }: Props) {
  return (
    <Box width={width} flexShrink={0} marginRight={1}>
      <Text wrap="truncate-end" {...style}>{children}</Text>
    </Box>
  );
}
