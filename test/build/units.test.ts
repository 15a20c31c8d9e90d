// The systemd units we ship under release/: each ExecStart names a real subcommand with flags
// the CLI accepts, so a deployment copied from README never dies on a typo.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildCli } from '../../src/main.js';

const dir = join(process.cwd(), 'release');
const units = readdirSync(dir).filter((f) => f.endsWith('.service')).sort();

test('we ship units for control, agent and plugin', () => {
  assert.equal(units, ['flocker-agent.service', 'flocker-control.service', 'flocker-plugin.service']);
});

for (const unit of units) {
  test(`${unit}: ExecStart is a valid flocker command line`, () => {
    const text = readFileSync(join(dir, unit), 'utf8');
    const line = text.split('\n').find((l) => l.startsWith('ExecStart='));
    assert.ok(line, 'no ExecStart');
    const [exe, ...args] = line!.slice('ExecStart='.length).trim().split(/\s+/);
    assert.is(exe, '/usr/local/bin/flocker');
    assert.is(args[0], unit.replace(/^flocker-|\.service$/g, ''), 'runs the role it is named after');
    const cli = buildCli(false);
    const command = cli.process(args);
    assert.ok(command, 'parsed');
    assert.match(text, /^\[Install\]\nWantedBy=multi-user\.target$/m);
  });
}

test.run();
