// discover: volumes + mounts → discovered states and the report, over a scripted backend.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StorageBackend, Volume } from '../../src/backends/backend.js';
import { sharedState } from '../../src/converge/dataset-state.js';
import { asDatasetId, type DatasetId } from '../../src/model/ids.js';
import { discoverLocal } from '../../src/roles/agent/discover.js';

const id = (n: number): DatasetId => asDatasetId(`0000000${n}-0000-4000-8000-000000000000`);
const ME = 'me';

function backend(volumes: Volume[], mounts: Record<string, string>, opts: { fs?: Set<string>; needsFilesystem?: boolean; badDevice?: string } = {}): StorageBackend {
  const refuse = async (): Promise<never> => {
    throw new Error('discover must not change anything');
  };
  return {
    name: 'loopback', needsFilesystem: opts.needsFilesystem ?? true,
    allocationUnit: () => 1, computeInstanceId: () => ME, volumeIdFor: (id) => `v-${id}`,
    listVolumes: async () => volumes,
    listMounts: async () => new Map(Object.entries(mounts)),
    devicePath: async (v) => {
      if (v === opts.badDevice) throw new Error('losetup failed: no free loop device');
      return `/dev/${v}`;
    },
    hasFilesystem: async (d) => opts.fs?.has(d) ?? false,
    createVolume: refuse, destroyVolume: refuse, attachVolume: refuse, detachVolume: refuse,
    createFilesystem: refuse, mount: refuse, unmount: refuse,
  };
}

const vol = (n: number, attachedTo: string | null): Volume => ({ volumeId: `v${n}`, datasetId: id(n), size: 1024, attachedTo });

test('each volume is classified from where it is attached and what is mounted', async () => {
  const b = backend(
    [vol(1, null), vol(2, 'other'), vol(3, ME), vol(4, ME), vol(5, ME)],
    { [`/flocker/${id(5)}`]: '/dev/v5' },
    { fs: new Set(['/dev/v4']) },
  );
  const local = await discoverLocal(b, '/flocker');
  assert.equal([...local.datasets.values()].map((d) => [d.datasetId, d.kind]), [
    [id(1), 'non-manifest'], [id(2), 'attached-elsewhere'], [id(3), 'attached-no-filesystem'], [id(4), 'attached'], [id(5), 'mounted'],
  ]);
  assert.equal(local.strayMounts, []);
  const shared = sharedState(local);
  assert.equal(shared.manifestations, [{ datasetId: id(5), path: `/flocker/${id(5)}`, maximumSize: 1024 }]);
  assert.equal(shared.nonManifest.map((n) => n.datasetId), [id(1), id(3), id(4)], 'attached elsewhere is its holder\'s to report');
});

test('without a filesystem step, attached means ready to mount', async () => {
  const local = await discoverLocal(backend([vol(1, ME)], {}, { needsFilesystem: false }), '/flocker');
  assert.is(local.datasets.get(id(1))?.kind, 'attached');
});

test('exposures nothing here accounts for are strays', async () => {
  const b = backend([vol(1, 'other'), vol(2, ME)], {
    [`/flocker/${id(1)}`]: '/pool/v1',
    [`/flocker/${id(2)}`]: '/dev/somewhere-else',
  });
  const local = await discoverLocal(b, '/flocker');
  assert.equal(local.strayMounts, [
    { datasetId: id(1), mountPoint: `/flocker/${id(1)}` },
    { datasetId: id(2), mountPoint: `/flocker/${id(2)}` },
  ]);
  assert.is(local.datasets.get(id(2))?.kind, 'attached-no-filesystem');
});

test('a volume whose device cannot be found does not blind discovery of the others', async () => {
  const b = backend([vol(1, ME), vol(2, null)], {}, { badDevice: 'v1' });
  const local = await discoverLocal(b, '/flocker');
  assert.is(local.datasets.get(id(1))?.kind, 'attached');
  assert.is(local.datasets.get(id(2))?.kind, 'non-manifest');
});

test.run();
