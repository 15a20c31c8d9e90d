// flockerctl's tables: no borders, left-aligned, three spaces between columns, a blank line
// before and after. Large tables (`flocker ls` over 100,000 datasets) are written line by line as
// the reader takes them, never built as one string.
import type { Writable } from 'node:stream';
import { writeLines } from './write-lines.js';

/** The table's lines: a blank line, the headers, the rows, a blank line. */
export function* tableLines(headers: readonly string[], rows: readonly (readonly string[])[]): Generator<string> {
  const widths = headers.map(width);
  for (const r of rows) for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i] ?? 0, width(r[i] ?? ''));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i] ?? 0))).join('   ').trimEnd();
  yield '';
  yield line(headers);
  for (const r of rows) yield line(r);
  yield '';
}

export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  return `${[...tableLines(headers, rows)].join('\n')}\n`;
}

/** renderTable's text, written as `out` takes it. */
export function writeTable(out: Writable, headers: readonly string[], rows: readonly (readonly string[])[]): Promise<void> {
  return writeLines(out, tableLines(headers, rows));
}

// Emoji status markers take two terminal columns.
const PLAIN = /^[\x20-\x7e]*$/;
function width(s: string): number {
  if (PLAIN.test(s)) return s.length;
  let w = 0;
  for (const ch of s) w += /\p{Extended_Pictographic}/u.test(ch) ? 2 : 1;
  return w;
}

function pad(s: string, to: number): string {
  return s + ' '.repeat(Math.max(0, to - width(s)));
}
