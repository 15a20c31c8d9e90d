// Loads a native addon (.node) inside the single executable. A Node 20 SEA's require() serves
// builtins only, so the build embeds the addon as a SEA asset and substitutes a call to this for
// the package's own loader (build/patches.ts); under tsx the package loads itself and this is
// never reached.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The addon could not be loaded; says what to do about it. */
export class NativeAddonError extends Error {
  override readonly name = 'NativeAddonError';
}

interface Sea {
  isSea(): boolean;
  getRawAsset(key: string): ArrayBuffer;
}

/**
 * The exports of the addon embedded as SEA asset `asset`. It is written into a fresh directory
 * only this user can enter (mkdtemp makes it 0700), loaded from there, and removed: the addon
 * stays mapped, and no other user ever had a moment to swap the file. Outside a SEA (the bundle
 * run by node in place) it is loaded from `builtFrom`, where the build found it.
 */
export function loadNativeAddon(asset: string, builtFrom: string): unknown {
  const sea = createRequire(process.execPath)('node:sea') as Sea;
  const module = { exports: {} as unknown };
  if (!sea.isSea()) {
    process.dlopen(module, builtFrom);
    return module.exports;
  }
  const dir = mkdtempSync(join(tmpdir(), 'flocker-addon-'));
  try {
    const file = join(dir, asset);
    writeFileSync(file, new Uint8Array(sea.getRawAsset(asset)), { mode: 0o500, flag: 'wx' });
    try {
      process.dlopen(module, file);
    } catch (e) {
      throw new NativeAddonError(
        `cannot load the built-in ${asset} from ${dir}: ${e instanceof Error ? e.message : String(e)}` +
        ' (if that filesystem is mounted noexec, point TMPDIR at one that is not)',
      );
    }
    return module.exports;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
