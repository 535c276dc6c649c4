import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from '../../../src/config/duration.js';

const cases: Array<[input: string | number, expected: number | undefined]> = [
  ['250ms', 250],
  ['30s', 30_000],
  ['5m', 300_000],
  ['1h', 3_600_000],
  ['1.5s', 1500],
  [' 10 s ', 10_000],
  ['10', 10],
  ['0', 0],
  ['0s', 0],
  [250, 250],
  [0, 0],
  ['-1', undefined],
  ['-1s', undefined],
  ['1d', undefined],
  ['1 hour', undefined],
  ['', undefined],
  ['s', undefined],
  ['1e3', undefined],
  ['5 parsecs', undefined],
  [-5, undefined],
  [Number.NaN, undefined],
  [Number.POSITIVE_INFINITY, undefined],
];
for (const [input, expected] of cases) {
  test(`parseDuration(${JSON.stringify(input)}) -> ${expected}`, () => {
    assert.equal(parseDuration(input), expected);
  });
}
