// Real mutual TLS between a real https server and client, with certificates from the real CA.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type RequestOptions, type Server } from "node:https";
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { clientTlsOptions, peerIdentity, readTlsMaterial, refuseOtherPeers, serverTlsOptions, type TlsMaterial } from '../../src/tls/options.js';
import { makeCerts, type TestCerts } from '../support/certs.js';
import { failure } from '../support/failure.js';
import { UserError } from '../../src/errors.js';

let dir: string;
let certs: TestCerts;
let foreign: TestCerts;
let server: Server;
let port: number;
const refusals: string[] = [];

const read = (p: string): string => readFileSync(p, 'utf8');
const material = (c: TestCerts, pair: { cert: string; key: string }): TlsMaterial => ({ caCert: read(c.caCert), cert: read(pair.cert), key: read(pair.key) });

function get(opts: RequestOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/who', agent: false, ...opts }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The error of a request that must be refused (an answer fails the test). */
const refused = (opts: RequestOptions): Promise<Error & { code?: string }> => failure(get(opts));

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flocker-tls-'));
  certs = await makeCerts(join(dir, 'a'), { nodes: 1, users: ['user'] });
  foreign = await makeCerts(join(dir, 'b'), { nodes: 0, users: ['user'] });
  server = createServer(serverTlsOptions(material(certs, certs.control)), (req, res) => {
    const id = peerIdentity(req.socket as TLSSocket);
    res.end(JSON.stringify(id));
  });
  refuseOtherPeers(server, 'user-', (reason) => refusals.push(reason));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

test.after(() => {
  server?.close();
  server?.closeAllConnections();
  rmSync(dir, { recursive: true, force: true });
});

test('a user certificate of the cluster gets through, dialling 127.0.0.1 (name checked is control-service)', async () => {
  const r = await get(clientTlsOptions(material(certs, certs.users['user']!)));
  assert.is(r.status, 200);
  const id = JSON.parse(r.body) as { cn: string; kind: string; username: string; clusterUuid: string };
  assert.equal(id, { cn: 'user-user', kind: 'user', username: 'user', clusterUuid: certs.clusterUuid });
});

test('no client certificate is refused at the handshake', async () => {
  const m = material(certs, certs.users['user']!);
  const e = await refused({ ...clientTlsOptions(m), cert: undefined, key: undefined });
  assert.ok(e.code, `an error code: ${e.message}`);
});

test('a node certificate is refused on the user port, before any request is handled', async () => {
  const before = refusals.length;
  const e = await refused(clientTlsOptions(material(certs, certs.nodes[0]!)));
  assert.match(String(e.code ?? e.message), /ECONNRESET|socket hang up|EPIPE/);
  assert.is(refusals.length, before + 1);
  assert.match(refusals[refusals.length - 1]!, /API user certificate.*node-/);
});

test("a user certificate from another cluster's CA is refused", async () => {
  const m = material(foreign, foreign.users['user']!);
  const e = await refused({ ...clientTlsOptions(m), ca: read(certs.caCert) });
  assert.match(String(e.code), /ALERT|ECONNRESET/);
});

test("the client refuses a server whose certificate another CA signed", async () => {
  const e = await refused(clientTlsOptions(material(foreign, foreign.users['user']!)));
  assert.match(String(e.code), /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/);
});

/** The error a user's client meets at a server that presents `serverPair` instead of the control service's. */
async function userRefusesServer(serverPair: { cert: string; key: string }): Promise<Error & { code?: string }> {
  const other = createServer(serverTlsOptions(material(certs, serverPair)), (_q, s) => s.end('x'));
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  try {
    return await refused({ ...clientTlsOptions(material(certs, certs.users['user']!)), port: (other.address() as AddressInfo).port });
  } finally {
    other.close();
    other.closeAllConnections();
  }
}

test('an API user certificate cannot serve (clientAuth only)', async () => {
  assert.is((await userRefusesServer(certs.users['user']!)).code, 'INVALID_PURPOSE');
});

test('the client refuses a server that is not the control service (wrong name)', async () => {
  // A node certificate has no EKU, so it is usable by a server; only its name is wrong.
  assert.is((await userRefusesServer(certs.nodes[0]!)).code, 'ERR_TLS_CERT_ALTNAME_INVALID');
});

test('readTlsMaterial names a missing file and the hint', () => {
  assert.throws(
    () => readTlsMaterial(certs.dir, { cert: 'nope.crt', key: 'nope.key' }, 'set --certificates-dir'),
    (e: unknown) => e instanceof UserError && /nope\.crt \(no such file\); set --certificates-dir$/.test(e.message),
  );
  const m = readTlsMaterial(certs.dir, { cert: 'control-service.crt', key: 'control-service.key' });
  assert.match(m.caCert, /BEGIN CERTIFICATE/);
});

test('readTlsMaterial refuses a key of another certificate, a certificate of another cluster, and garbage', () => {
  const refuses = (names: { cert: string; key: string; ca?: string }, re: RegExp): void => {
    assert.throws(() => readTlsMaterial(dir, names), (e: unknown) => e instanceof UserError && re.test(e.message));
  };
  refuses({ cert: 'a/control-service.crt', key: 'a/user.key', ca: 'a/cluster.crt' }, /a\/user\.key is not the key of .*a\/control-service\.crt$/);
  refuses({ cert: 'b/user.crt', key: 'b/user.key', ca: 'a/cluster.crt' }, /b\/user\.crt is not signed by .*a\/cluster\.crt: are they from different clusters\?$/);
  refuses({ cert: 'a/user.key', key: 'a/user.key', ca: 'a/cluster.crt' }, /a\/user\.key is not a PEM certificate$/);
  refuses({ cert: 'a/user.crt', key: 'a/user.crt', ca: 'a/cluster.crt' }, /a\/user\.crt is not a private key in PEM form$/);
});

test.run();
