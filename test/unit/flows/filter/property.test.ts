import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { FilterNode } from '../../../../src/flows/filter/ast.js';
import { FILTERS } from '../../../../src/flows/filter/filters.js';
import { parseFilter } from '../../../../src/flows/filter/parse.js';
import { printFilter } from '../../../../src/flows/filter/print.js';

/** A value any filter accepts as it is (the checked filters get their own, already normalised). */
function valueFor(name: string): fc.Arbitrary<string> {
  if (name === 'm') return fc.constantFrom('GET', 'POST', 'PATCH', 'M-SEARCH');
  if (name === 'c') return fc.constantFrom('200', '4xx', '50x', '101');
  if (name === 'x') return fc.constantFrom('allowed', 'denied', 'would-deny');
  if (name === 'p') return fc.constantFrom('h1', 'h2', 'ws', 'tunnel');
  return text;
}

// Operators, quotes, backslashes, tildes, spaces and any other character, so quoting is exercised.
const text = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '\t', '(', ')', '&', '|', '!', '~', '"', "'", '\\', '/', ':', '.', '-', 'é', '\u00a0') , maxLength: 12 }),
  fc.string({ maxLength: 8 }),
);

const leaf: fc.Arbitrary<FilterNode> = fc.oneof(
  text.map((t) => ({ type: 'text', text: t }) as FilterNode),
  fc.constantFrom(...Object.keys(FILTERS)).chain((name) => {
    const spec = FILTERS[name]!;
    if (spec.arity === 'none') return fc.constant({ type: 'filter', name, args: [] } as FilterNode);
    const count = spec.arity === 'one' ? fc.constant(1) : fc.integer({ min: 1, max: 2 });
    return count.chain((n) => fc.array(valueFor(name), { minLength: n, maxLength: n })).map((args) => ({ type: 'filter', name, args }) as FilterNode);
  }),
);

const tree = fc.letrec<{ node: FilterNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({ type: fc.constant('and' as const), left: tie('node'), right: tie('node') }, { noNullPrototype: true }),
    fc.record({ type: fc.constant('or' as const), left: tie('node'), right: tie('node') }, { noNullPrototype: true }),
    fc.record({ type: fc.constant('not' as const), operand: tie('node') }, { noNullPrototype: true }),
  ),
})).node;

// Token soup: inputs near the grammar reach the parser's deep paths more often than random text.
const soup = fc
  .array(fc.oneof(fc.constantFrom('~d', '~h', '~c', '~x', '~zz', '~', '(', ')', '&', '|', '!', '"', "'", ' ', 'a', '4xx', '"x y"', '\\'), fc.string({ maxLength: 3 })), { maxLength: 30 })
  .map((parts) => parts.join(''));

describe('filter language properties', () => {
  test('parse(print(tree)) is the tree', () => {
    fc.assert(
      fc.property(tree, (ast) => {
        const printed = printFilter(ast);
        const back = parseFilter(printed);
        assert.deepEqual(back, { ok: true, ast }, printed);
      }),
      { numRuns: 2000 },
    );
  });

  test('the parser never throws: a tree, or an error at an offset inside the input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 30 }), soup), (input) => {
        const r = parseFilter(input);
        if (!r.ok) {
          assert.ok(Number.isInteger(r.position) && r.position >= 0 && r.position <= input.length, `${JSON.stringify(input)}: position ${r.position}`);
          assert.ok(r.error.length > 0);
        }
      }),
      { numRuns: 5000 },
    );
  });

  test('printing is stable: print(parse(print(tree))) is print(tree)', () => {
    fc.assert(
      fc.property(tree, (ast) => {
        const once = printFilter(ast);
        const r = parseFilter(once);
        assert.ok(r.ok && r.ast);
        assert.equal(printFilter(r.ast), once);
      }),
      { numRuns: 500 },
    );
  });
});
