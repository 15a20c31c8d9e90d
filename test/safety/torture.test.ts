// The crash loops of `npm run torture`, once and small.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { controlCrashLoop, moveCrashLoop } from '../torture/loops.js';

const log = (line: string): void => console.log(line);

test('kill -9 of the control service during parallel creates loses no acknowledged create', async () => {
  assert.is(await controlCrashLoop({ iterations: 2, creates: 40, log }), 2);
});

test('an agent crashing after every action of a move still completes it, data intact', async () => {
  const r = await moveCrashLoop({ backend: 'directory', moves: 1, log });
  assert.is(r.movesPassed, 1);
  // Unmount, detach on the old node; attach, mount on the new one: a crash after each.
  assert.ok(r.crashes >= 4, `crashes: ${r.crashes}`);
});

test.run();
