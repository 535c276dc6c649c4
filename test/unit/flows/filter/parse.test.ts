import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_FILTER_LENGTH } from '../../../../src/flows/filter/lexer.js';
import { MAX_FILTER_DEPTH, parseFilter } from '../../../../src/flows/filter/parse.js';
import { printFilter } from '../../../../src/flows/filter/print.js';

/** The canonical print of a parse: the easiest way to read a tree in an assertion. */
function canon(input: string): string {
  const r = parseFilter(input);
  assert.ok(r.ok, `${input}: ${r.ok ? '' : `${r.error} at ${r.position}`}`);
  return r.ast === null ? '' : printFilter(r.ast);
}

function fails(input: string, position: number, message: RegExp): void {
  const r = parseFilter(input);
  assert.equal(r.ok, false, `${input} should not parse`);
  if (r.ok) return;
  assert.equal(r.position, position, `${input}: position of "${r.error}"`);
  assert.match(r.error, message);
}

describe('filter parser', () => {
  test('blank means no filter', () => {
    assert.deepEqual(parseFilter(''), { ok: true, ast: null });
    assert.deepEqual(parseFilter('  \t '), { ok: true, ast: null });
  });

  test('precedence: ! over & over |, left to right; side by side is &', () => {
    assert.equal(canon('~d a | ~d b & ~d c'), '~d a | ~d b & ~d c');
    assert.deepEqual(parseFilter('a | b & c'), parseFilter('a | (b & c)'));
    assert.deepEqual(parseFilter('a b'), parseFilter('a & b'));
    assert.deepEqual(parseFilter('!a & b'), parseFilter('(!a) & b'));
    assert.deepEqual(parseFilter('a && b || c'), parseFilter('a & b | c'));
    assert.equal(canon('(a | b) & c'), '(a | b) & c');
    assert.equal(canon('a & (b & c)'), 'a & (b & c)');
    assert.equal(canon('!(a | b)'), '!(a | b)');
    assert.equal(canon('!!a'), '!!a');
  });

  test('values: bare words, "double" and \'single\' quotes with backslash escapes', () => {
    assert.deepEqual(parseFilter('~b "an error"'), { ok: true, ast: { type: 'filter', name: 'b', args: ['an error'] } });
    assert.deepEqual(parseFilter("~b 'it\\'s'"), { ok: true, ast: { type: 'filter', name: 'b', args: ["it's"] } });
    assert.deepEqual(parseFilter('"a \\"q\\" \\\\"'), { ok: true, ast: { type: 'text', text: 'a "q" \\' } });
    assert.deepEqual(parseFilter('~u /api/v1?x=1&y'), { ok: true, ast: { type: 'and', left: { type: 'filter', name: 'u', args: ['/api/v1?x=1'] }, right: { type: 'text', text: 'y' } } });
    assert.deepEqual(parseFilter('~i spiffe://cluster.local/ns/a/sa/b'), { ok: true, ast: { type: 'filter', name: 'i', args: ['spiffe://cluster.local/ns/a/sa/b'] } });
    assert.equal(canon('don\'t'), "don't");
    assert.equal(canon('"~tilde"'), '"~tilde"');
  });

  test('~h takes a name and an optional value; a third word is free text', () => {
    assert.deepEqual(parseFilter('~h user-agent curl'), { ok: true, ast: { type: 'filter', name: 'h', args: ['user-agent', 'curl'] } });
    assert.deepEqual(parseFilter('~hq x-a'), { ok: true, ast: { type: 'filter', name: 'hq', args: ['x-a'] } });
    assert.equal(canon('~hs a b c'), '~hs a b & c');
    assert.equal(canon('!~h user-agent curl & ~m post'), '!~h user-agent curl & ~m POST');
  });

  test('checked values are normalised: ~m upper, ~c ~x ~p lower', () => {
    assert.equal(canon('~m post ~c 4XX ~x Would-Deny ~p H2'), '~m POST & ~c 4xx & ~x would-deny & ~p h2');
    assert.equal(canon('~c 40x | ~c 503'), '~c 40x | ~c 503');
    assert.equal(canon('~DENIED'), '~denied');
  });

  test('errors say what and where (0-based offset)', () => {
    fails('~c 4xxx', 3, /status code.*class.*decade/);
    fails('~c 600', 3, /~c takes/);
    fails('~x maybe', 3, /allowed, denied, would-deny/);
    fails('~p h3', 3, /h1, h2, ws, tunnel/);
    fails('~m "GE T"', 3, /~m takes a method/);
    fails('~zz foo', 0, /unknown filter ~zz/);
    fails('~dom foo', 0, /did you mean ~d\?/);
    fails('~d', 2, /~d needs a value/);
    fails('~d & x', 3, /~d needs a value/);
    fails('(~d a', 5, /\( at 0 is not closed/);
    fails('(~d a x)y)', 9, /\) without its \(/);
    fails(')', 0, /\) without its \(/);
    fails('a &', 3, /ends where a term was expected/);
    fails('& a', 0, /& with nothing before it/);
    fails('a | | b', 4, /\| with nothing before it/);
    fails('!', 1, /ends where a term/);
    fails('~b "open', 3, /unterminated string/);
    fails('x ~', 2, /a ~ must be followed by a filter name/);
  });

  test('too long and too deep are errors, not a crash', () => {
    fails('a'.repeat(MAX_FILTER_LENGTH + 1), MAX_FILTER_LENGTH, /at most 4096/);
    assert.ok(parseFilter('a'.repeat(MAX_FILTER_LENGTH)).ok);
    const deep = '('.repeat(MAX_FILTER_DEPTH + 1) + 'a' + ')'.repeat(MAX_FILTER_DEPTH + 1);
    fails(deep, MAX_FILTER_DEPTH, /nests deeper than 64/);
    fails('!'.repeat(2000) + 'a', MAX_FILTER_DEPTH, /nests deeper/);
    const ok = '('.repeat(MAX_FILTER_DEPTH) + 'a' + ')'.repeat(MAX_FILTER_DEPTH);
    assert.ok(parseFilter(ok).ok);
  });
});
