import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SEMI_SPACE_MIB, semiSpaceChosen, workerExecArgv } from '../../../src/server/young-generation.js';

test('the operator chooses the young generation with --max-semi-space-size, on the command line or in NODE_OPTIONS', () => {
  assert.equal(semiSpaceChosen([]), false);
  assert.equal(semiSpaceChosen(['--max-old-space-size=100', '--enable-source-maps'], '--trace-gc'), false);
  assert.equal(semiSpaceChosen(['--max-semi-space-size=2']), true);
  assert.equal(semiSpaceChosen(['--max_semi_space_size=2']), true);
  assert.equal(semiSpaceChosen(['--max-semi-space-size', '2']), true);
  assert.equal(semiSpaceChosen([], '--enable-source-maps  --max-semi-space-size=32'), true);
  // A flag that only starts alike is not this one.
  assert.equal(semiSpaceChosen(['--max-semi-space-sizeX=2']), false);
});

test('workers start with the cap as a flag, unless the operator chose a size', () => {
  assert.deepEqual(workerExecArgv(['--enable-source-maps'], ''), ['--enable-source-maps', `--max-semi-space-size=${SEMI_SPACE_MIB}`]);
  assert.deepEqual(workerExecArgv(['--max-semi-space-size=32'], ''), ['--max-semi-space-size=32']);
  assert.deepEqual(workerExecArgv([], '--max-semi-space-size=2'), []);
});
