import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/errors.js';
import { identityFromPeer, identityFromPem, identityFromSubject, readNodeUuid } from '../../src/tls/identity.js';
import { makeCerts, type TestCerts } from '../support/certs.js';

let dir: string;
let certs: TestCerts;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flocker-identity-'));
  certs = await makeCerts(dir, { nodes: 1, users: ['alice'] });
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

const pem = (p: string): string => readFileSync(p, 'utf8');

test('identityFromPem tells node, user and control certificates apart and reads the cluster UUID', () => {
  const node = certs.nodes[0]!;
  assert.equal(identityFromPem(pem(node.cert)), { cn: `node-${node.uuid}`, kind: 'node', nodeUuid: node.uuid, clusterUuid: certs.clusterUuid });
  assert.equal(identityFromPem(pem(certs.users['alice']!.cert)), { cn: 'user-alice', kind: 'user', username: 'alice', clusterUuid: certs.clusterUuid });
  assert.equal(identityFromPem(pem(certs.control.cert)), { cn: 'control-service', kind: 'control', clusterUuid: certs.clusterUuid });
  assert.equal(identityFromPem(pem(certs.caCert)), { cn: 'test-cluster', kind: 'other', clusterUuid: certs.clusterUuid });
});

test('identityFromPeer: Node peer objects, repeated fields, no certificate', () => {
  assert.equal(identityFromPeer({ subject: { CN: 'user-bob', OU: 'abc' } as never }), { cn: 'user-bob', kind: 'user', username: 'bob', clusterUuid: 'abc' });
  assert.equal(identityFromPeer({ subject: { CN: ['user-x', 'user-y'], OU: ['u1', 'u2'] } as never })?.cn, 'user-x');
  assert.is(identityFromPeer({} as never), undefined);
  assert.is(identityFromPeer(undefined), undefined);
  assert.is(identityFromPeer({ subject: { O: 'x' } as never }), undefined);
});

test('a node- CN without a UUID is a node kind with no nodeUuid; UUIDs are lower-cased', () => {
  assert.equal(identityFromSubject('node-abc'), { cn: 'node-abc', kind: 'node' });
  assert.is(identityFromSubject('node-7F5B5C1E-3C2A-4B1D-9E8F-0A1B2C3D4E5F').nodeUuid, '7f5b5c1e-3c2a-4b1d-9e8f-0a1b2c3d4e5f');
});

test('readNodeUuid: reads node.crt; refuses a user certificate, garbage and a missing file with one clear line', () => {
  assert.is(readNodeUuid(certs.nodes[0]!.cert), certs.nodes[0]!.uuid);
  const refuses = (path: string, re: RegExp): void => {
    try {
      readNodeUuid(path);
      assert.unreachable('should throw');
    } catch (e) {
      assert.instance(e, UserError);
      assert.match((e as Error).message, re);
      assert.not.match((e as Error).message, /\n/);
    }
  };
  refuses(certs.users['alice']!.cert, /is not a node certificate: its CN is "user-alice", expected node-<uuid>/);
  const junk = join(dir, 'junk.crt');
  writeFileSync(junk, 'hello');
  refuses(junk, /junk\.crt is not a PEM X\.509 certificate/);
  refuses(join(dir, 'missing.crt'), /cannot read the node certificate .*missing\.crt: no such file/);
});

test.run();
