// Long output (a table or JSON of 100,000 datasets) goes out in pieces as the reader takes them:
// memory stays at one piece, and `flocker ls | head` stops us quietly instead of failing on EPIPE.
import type { Writable } from 'node:stream';

const PIECE_CHARS = 64 * 1024;

/** Write each line followed by a newline; resolves when written or when the reader went away. */
export async function writeLines(out: Writable, lines: Iterable<string>): Promise<void> {
  let failure: NodeJS.ErrnoException | undefined;
  const onError = (e: NodeJS.ErrnoException): void => {
    failure = e;
  };
  out.on('error', onError);
  try {
    let piece = '';
    for (const l of lines) {
      piece += `${l}\n`;
      if (piece.length < PIECE_CHARS) continue;
      await write(out, piece);
      if (failure || out.destroyed) break;
      piece = '';
    }
    if (piece && !failure && !out.destroyed) await write(out, piece);
  } finally {
    out.off('error', onError);
  }
  if (failure && failure.code !== 'EPIPE') throw failure;
}

function write(out: Writable, text: string): Promise<void> {
  if (out.write(text)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      out.off('drain', done);
      out.off('close', done);
      out.off('error', done);
      resolve();
    };
    out.once('drain', done);
    out.once('close', done);
    out.once('error', done);
  });
}

/** JSON.stringify(items, null, 2) and a newline, written item by item. */
export function writeJsonArray(out: Writable, items: readonly unknown[]): Promise<void> {
  return writeLines(out, jsonArrayLines(items));
}

function* jsonArrayLines(items: readonly unknown[]): Generator<string> {
  if (items.length === 0) {
    yield '[]';
    return;
  }
  yield '[';
  for (let i = 0; i < items.length; i++) {
    const text = JSON.stringify(items[i], null, 2).replaceAll('\n', '\n  ');
    yield `  ${text}${i === items.length - 1 ? '' : ','}`;
  }
  yield ']';
}
