// One contract, three clients: the real one against a `flocker control` process, the plugin's
// in-memory fake and the dashboard's scripted fake (only the calls the dashboard makes).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientFromCertsDir } from '../../src/client/from-certs-dir.js';
import { makeCerts } from '../support/certs.js';
import { startControl } from '../control/process-harness.js';
import { FakeControl } from '../plugin/fake-client.js';
import { D1, fakeClient, N1, N2 } from '../ui/fake-client.js';
import { controlClientContract } from './control-client-contract.js';

const A = '7f5b5c1e-3c2a-4b1d-9e8f-0a1b2c3d4e5f';
const B = '0b3f7c9a-1d2e-4f50-8a6b-7c8d9e0f1a2b';

controlClientContract('the real client and control service', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flocker-contract-'));
  const certs = await makeCerts(join(dir, 'certs'), { nodes: 1 });
  const control = await startControl(join(dir, 'data'), certs.dir);
  const client = clientFromCertsDir({ host: '127.0.0.1', port: control.apiPort, certsPath: certs.dir, user: 'user' });
  return {
    client, nodes: [A, B],
    seed: async () => (await client.createDataset({ primary: A })).dataset_id,
    async cleanup() {
      client.close();
      await control.kill9();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}, ['datasets', 'move-delete', 'leases', 'events']);

controlClientContract('the plugin tests\' FakeControl', async () => {
  const client = new FakeControl();
  return { client, nodes: [A, B], seed: async () => (await client.createDataset({ primary: A })).dataset_id, cleanup: async () => undefined };
}, ['datasets', 'move-delete', 'leases', 'events']);

controlClientContract('the dashboard tests\' fakeClient', async () => {
  const client = fakeClient();
  return { client, nodes: [N1, N2], seed: async () => D1, cleanup: async () => undefined };
}, ['move-delete']);
