// The store contract on a real 3-member etcd cluster.
import { test } from 'uvu';
import { EtcdStore } from '../../src/store/etcd.js';
import type { ConfigurationStore } from '../../src/store/store.js';
import { storeContract } from '../contracts/store-contract.js';
import { randomPrefix, startTestEtcd, type TestEtcd } from '../support/etcd.js';

const etcd: TestEtcd = await startTestEtcd();
const prefixes = new WeakMap<ConfigurationStore, string>();
const open = async (prefix: string): Promise<ConfigurationStore> => {
  const s = await EtcdStore.open({ endpoints: etcd.endpoints, prefix });
  prefixes.set(s, prefix);
  return s;
};

storeContract('etcd', {
  fresh: () => open(randomPrefix()),
  reopen: (s) => open(prefixes.get(s) ?? ''),
  second: (s) => open(prefixes.get(s) ?? ''),
});

test.after(async () => { await etcd.stop(); });
test.run();
