// IMPURE. The store mark (identity + generation) of the last configuration this node acted on,
// kept in STATE_DIR/acted-on.json across restarts, so a control service that comes back with
// another store or an older copy of it cannot make this node let go of what it holds.
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoreMark } from '../../converge/guard.js';
import type { ActedOnMemory } from '../../converge/loop.js';
import { UserError, errorMessage } from '../../errors.js';

export const ACTED_ON_FILE = 'acted-on.json';

function parse(text: string, file: string): StoreMark {
  const o = JSON.parse(text) as { identity?: unknown; generation?: unknown };
  if (typeof o.identity !== 'string' || typeof o.generation !== 'number') throw new Error(`${file} has no identity and generation`);
  return { identity: o.identity, generation: o.generation };
}

/** Loads the remembered mark (none on first start). A damaged file is one clear line at startup. */
export async function loadActedOn(stateDir: string): Promise<ActedOnMemory> {
  const file = join(stateDir, ACTED_ON_FILE);
  let mark: StoreMark | undefined;
  try {
    mark = parse(await readFile(file, 'utf8'), file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new UserError(`cannot read ${file}: ${errorMessage(e)}; remove it only if this node holds no datasets you care about`);
    }
  }
  return {
    get: () => mark,
    async record(next) {
      // Written to a temporary file, synced, then renamed over: never half a mark.
      await mkdir(stateDir, { recursive: true });
      const tmp = `${file}.tmp`;
      const fh = await open(tmp, 'w', 0o644);
      try {
        await fh.writeFile(`${JSON.stringify(next)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
      mark = next;
    },
  };
}
