// What control accepts in an agent's hello: the optional address and transfer port (issue 10),
// checked by the channel's one schema.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAgentMessage } from '../../src/protocol/channel-messages.js';

const hello = (extra: object): string => JSON.stringify({ type: 'hello', version: 1, era: 'e', ...extra });

test('a hello without an address is as before', () => {
  assert.equal(parseAgentMessage(hello({})), { ok: true, message: { type: 'hello', version: 1, era: 'e' } });
});

test('a hello may name the address peers reach the node at, and its transfer port', () => {
  for (const extra of [{ address: '10.20.30.4', transferPort: 4526 }, { address: 'fe80::1%eth0' }, { address: 'db-1.example.com' }]) {
    assert.equal(parseAgentMessage(hello(extra)), { ok: true, message: { type: 'hello', version: 1, era: 'e', ...extra } });
  }
});

test('a malformed address or port makes the hello invalid, with the reason', () => {
  for (const address of ['', 'a b', 5, 'x'.repeat(254), 'a/b']) {
    const m = parseAgentMessage(hello({ address }));
    assert.ok(!m.ok && /^address: /.test(m.problem), JSON.stringify([address, m]));
  }
  for (const transferPort of [0, 65536, 1.5, '4526', -1]) {
    const m = parseAgentMessage(hello({ transferPort }));
    assert.ok(!m.ok && /^transferPort: /.test(m.problem), JSON.stringify([transferPort, m]));
  }
});

test.run();
