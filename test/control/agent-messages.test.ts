// What control accepts in an agent's hello: the optional address and transfer port (issue 10).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkAgentMessage } from '../../src/roles/control/agent-messages.js';

const hello = (extra: object): string => JSON.stringify({ type: 'hello', version: 1, era: 'e', ...extra });

test('a hello without an address is as before', () => {
  assert.equal(checkAgentMessage(hello({})), { type: 'hello', era: 'e' });
});

test('a hello may name the address peers reach the node at, and its transfer port', () => {
  assert.equal(checkAgentMessage(hello({ address: '10.20.30.4', transferPort: 4526 })), { type: 'hello', era: 'e', address: '10.20.30.4', transferPort: 4526 });
  assert.equal(checkAgentMessage(hello({ address: 'fe80::1%eth0' })), { type: 'hello', era: 'e', address: 'fe80::1%eth0' });
  assert.equal(checkAgentMessage(hello({ address: 'db-1.example.com' })), { type: 'hello', era: 'e', address: 'db-1.example.com' });
});

test('a malformed address or port makes the hello invalid, with the reason', () => {
  for (const address of ['', 'a b', 5, 'x'.repeat(254), 'a/b']) {
    const m = checkAgentMessage(hello({ address }));
    assert.ok(m.type === 'invalid' && /address/.test(m.problem), JSON.stringify(address));
  }
  for (const transferPort of [0, 65536, 1.5, '4526', -1]) {
    const m = checkAgentMessage(hello({ transferPort }));
    assert.ok(m.type === 'invalid' && /transferPort/.test(m.problem), JSON.stringify(transferPort));
  }
});

test.run();
