// Build-time source patches that let the ESM-only, top-level-await UI stack and the wasm SQLite
// live in one CommonJS bundle (BUILD-NOTES.md). Each patch is an exact string replacement and
// the build fails when its pattern is gone, so a dependency upgrade is noticed, never silently
// shipped broken.
import type { Plugin } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Patch {
  /** Path suffix (with forward slashes) of the file inside node_modules. */
  readonly file: string;
  readonly replacements: readonly { readonly from: string; readonly to: string | ((pkgDir: string) => string) }[];
}

export class PatchError extends Error {
  override readonly name = 'PatchError';
}

/** Replace every `from` exactly once; throws naming the file and the missing pattern. */
export function applyPatch(source: string, patch: Patch, absPath: string): string {
  let out = source;
  for (const r of patch.replacements) {
    const at = out.indexOf(r.from);
    if (at < 0) throw new PatchError(`patch pattern not found in ${patch.file}: ${JSON.stringify(r.from)}`);
    if (out.indexOf(r.from, at + r.from.length) >= 0) {
      throw new PatchError(`patch pattern occurs more than once in ${patch.file}: ${JSON.stringify(r.from)}`);
    }
    const to = typeof r.to === 'function' ? r.to(absPath) : r.to;
    out = out.slice(0, at) + to + out.slice(at + r.from.length);
  }
  return out;
}

/** Yoga's wasm is inlined as base64 in an emscripten ESM module; we lift it out at build time. */
export function yogaBase64(yogaIndexPath: string): string {
  const binaries = join(dirname(yogaIndexPath), '..', 'binaries', 'yoga-wasm-base64-esm.js');
  const m = /"data:application\/octet-stream;base64,([A-Za-z0-9+/=]+)"/.exec(readFileSync(binaries, 'utf8'));
  if (!m?.[1]) throw new PatchError(`yoga wasm base64 not found in ${binaries}`);
  return m[1];
}

/**
 * etcd3's gRPC services, parsed from its .proto files at build time into protobufjs JSON (field
 * names kept as written, as etcd3 asks of its loader), so the executable never reads them.
 */
export function etcdProtoJson(connectionPoolPath: string): string {
  const rpcProto = join(dirname(connectionPoolPath), '..', 'proto', 'rpc.proto');
  // protobufjs is what @grpc/proto-loader parses with; resolve the very copy it uses.
  const loaderDir = dirname(createRequire(connectionPoolPath).resolve('@grpc/proto-loader'));
  const protobuf = createRequire(join(loaderDir, 'index.js'))('protobufjs') as {
    Root: new () => { loadSync(file: string, o: { keepCase: boolean }): { toJSON(): unknown } };
  };
  const root = new protobuf.Root().loadSync(rpcProto, { keepCase: true });
  return JSON.stringify(root.toJSON());
}

export const PATCHES: readonly Patch[] = [
  {
    // Top-level await of an async wasm load: replaced by a synchronous instantiate, which the
    // emscripten runtime accepts through instantiateWasm and then finishes synchronously.
    file: 'yoga-layout/dist/src/index.js',
    replacements: [{
      from: 'const Yoga = wrapAssembly(await loadYoga());',
      to: (abs) => [
        `const __yogaB64 = ${JSON.stringify(yogaBase64(abs))};`,
        'const __yogaMod = { instantiateWasm(imports, done) {',
        "  const i = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(__yogaB64, 'base64')), imports);",
        '  done(i); return i.exports; } };',
        'loadYoga(__yogaMod);',
        "if (__yogaMod.calledRun !== true) throw new Error('yoga-layout did not initialise synchronously');",
        'const Yoga = wrapAssembly(__yogaMod);',
      ].join('\n'),
    }],
  },
  {
    // Both are reached only with DEV=true (React devtools), which a release never supports.
    file: 'ink/build/reconciler.js',
    replacements: [
      { from: "await import('./devtools.js');", to: "throw new Error('React devtools are not available in the flocker executable');" },
      { from: '? await loadPackageJson()', to: '? { name: undefined, version: undefined }' },
    ],
  },
  {
    // Without this it reads __dirname/node-sqlite3-wasm.wasm, which does not exist in a SEA.
    file: 'node-sqlite3-wasm/dist/node-sqlite3-wasm.js',
    replacements: [{
      from: 'var Module=typeof Module!="undefined"?Module:{};',
      to: "var Module={wasmBinary: require('./node-sqlite3-wasm.wasm')};",
    }],
  },
  {
    // Without this it reads __dirname/../proto/rpc.proto (and the files it imports) at run time.
    file: 'etcd3/lib/connection-pool.js',
    replacements: [{
      from: '(0, proto_loader_1.loadSync)(`${__dirname}/../proto/rpc.proto`, {',
      to: (abs) => `(0, proto_loader_1.fromJSON)(${etcdProtoJson(abs)}, {`,
    }],
  },
];

/** Optional requires that a SEA cannot load (its require only serves builtins). */
export const STUBBED = ['supports-color', 'react-devtools-core'] as const;

/**
 * ws's optional native speed-ups. ws requires them inside try/catch and falls back to its own
 * JavaScript when the require throws, so these stubs throw (an empty object would be used).
 */
export const STUBBED_ABSENT = ['bufferutil', 'utf-8-validate'] as const;

/**
 * A package whose native addon (.node) the executable carries as a SEA asset: in the bundle the
 * package's own loader, which requires the .node from disk, is replaced by src/sys/native-addon.ts.
 */
export interface EmbeddedAddon {
  readonly package: string;
  /** The SEA asset's key. */
  readonly asset: string;
  /** Where the build takes the addon from. */
  readonly file: () => string;
}

export const EMBEDDED_ADDONS: readonly EmbeddedAddon[] = [{
  package: 'koffi',
  asset: 'koffi.node',
  // The prebuilt addon comes as an optional dependency of koffi; glibc's, as is the node we ship.
  file: () => {
    const fromKoffi = createRequire(createRequire(import.meta.url).resolve('koffi'));
    return join(dirname(fromKoffi.resolve('@koromix/koffi-linux-x64/package.json')), 'linux_x64', 'koffi.node');
  },
}];

const ADDON_LOADER = fileURLToPath(new URL('../src/sys/native-addon.ts', import.meta.url));

export function patchPlugin(patches: readonly Patch[] = PATCHES, addons: readonly EmbeddedAddon[] = EMBEDDED_ADDONS): Plugin {
  return {
    name: 'flocker-patches',
    setup(build) {
      const applied = new Set<string>();
      const stubFilter = new RegExp(`^(${STUBBED.map((s) => s.replace(/[-/]/g, '\\$&')).join('|')})$`);
      build.onResolve({ filter: stubFilter }, (args) => ({ path: args.path, namespace: 'flocker-stub' }));
      build.onLoad({ filter: /.*/, namespace: 'flocker-stub' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
      const absentFilter = new RegExp(`^(${STUBBED_ABSENT.map((s) => s.replace(/[-/]/g, '\\$&')).join('|')})$`);
      build.onResolve({ filter: absentFilter }, (args) => ({ path: args.path, namespace: 'flocker-absent' }));
      build.onLoad({ filter: /.*/, namespace: 'flocker-absent' }, (args) => ({
        contents: `throw Object.assign(new Error(${JSON.stringify(`${args.path} is not bundled`)}), { code: 'MODULE_NOT_FOUND' });`,
        loader: 'js',
      }));

      for (const addon of addons) {
        const filter = new RegExp(`^${addon.package.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`);
        build.onResolve({ filter }, () => ({ path: addon.package, namespace: 'flocker-addon' }));
      }
      build.onLoad({ filter: /.*/, namespace: 'flocker-addon' }, (args) => {
        const addon = addons.find((a) => a.package === args.path);
        if (!addon) return { errors: [{ text: `no embedded addon for ${args.path}` }] };
        const call = `loadNativeAddon(${JSON.stringify(addon.asset)}, ${JSON.stringify(addon.file())})`;
        return { contents: `module.exports = require(${JSON.stringify(ADDON_LOADER)}).${call};`, loader: 'js', resolveDir: dirname(ADDON_LOADER) };
      });

      for (const patch of patches) {
        const suffix = `node_modules/${patch.file}`;
        const filter = new RegExp(`${suffix.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`);
        build.onLoad({ filter }, (args) => {
          const contents = applyPatch(readFileSync(args.path, 'utf8'), patch, args.path);
          applied.add(patch.file);
          return { contents, loader: 'js', resolveDir: dirname(args.path) };
        });
      }
      build.onEnd((result) => {
        if (result.errors.length > 0) return;
        const missing = patches.filter((p) => !applied.has(p.file)).map((p) => p.file);
        if (missing.length > 0) {
          result.errors.push({
            id: '', pluginName: 'flocker-patches', location: null, notes: [], detail: undefined,
            text: `patched file never reached the bundle (is it still imported?): ${missing.join(', ')}`,
          });
        }
      });
    },
  };
}
