// Choosing the simulated hosts' network: never one an interface or a route already uses.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ipToNumber, numberToIp, overlaps, parseCidr, pickSubnet, usedNetworks } from '../../src/sys/netns/subnet.js';

const ADDR = `1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever preferred_lft forever
7: flk1a2b    inet 10.7.1.1/24 scope global flk1a2b\\       valid_lft forever preferred_lft forever`;
const ROUTE = `default via 192.0.2.1 dev eth0
10.0.0.0/9 via 192.0.2.1 dev eth0
local 10.7.1.1 dev flk1a2b table local proto kernel scope host src 10.7.1.1`;

test('addresses and numbers round-trip; bad addresses are refused', () => {
  assert.is(numberToIp(ipToNumber('10.200.3.4') ?? 0), '10.200.3.4');
  for (const bad of ['10.1.2', '10.1.2.256', 'a.b.c.d', '10.1.2.3.4']) assert.is(ipToNumber(bad), undefined, bad);
  assert.is(parseCidr('10.1.2.3/33'), undefined);
});

test('overlap is by range, whatever the prefix lengths', () => {
  const c = (s: string) => parseCidr(s)!;
  assert.ok(overlaps(c('10.0.0.0/8'), c('10.9.9.0/24')));
  assert.ok(overlaps(c('10.9.9.7/32'), c('10.9.9.0/24')));
  assert.not.ok(overlaps(c('10.9.8.0/24'), c('10.9.9.0/24')));
});

test('used networks come from interface addresses and routes; the pick avoids all of them', () => {
  const used = usedNetworks(ADDR, ROUTE);
  assert.equal(used.map((u) => `${numberToIp(u.base)}/${u.prefix}`), ['127.0.0.1/8', '192.0.2.2/24', '10.7.1.1/24', '10.0.0.0/9']);
  // A random source that first proposes 10.7.1.0 (taken), then 10.5.x (inside the routed /9), then a free one.
  const seq = [6 / 254, 1 / 256, 4 / 254, 0, 200 / 254, 3 / 256];
  let i = 0;
  const pick = pickSubnet(used, () => seq[i++] ?? 0.5);
  assert.ok(pick);
  assert.is(numberToIp(pick.base), '10.201.3.0');
  assert.is(pickSubnet([parseCidr('10.0.0.0/8')!], Math.random, 50), undefined, 'no free /24 inside a full 10/8');
});

test.run();
