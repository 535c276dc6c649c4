import type { FilterError } from './ast.js';

export type Token =
  | { kind: '(' | ')' | '&' | '|' | '!'; pos: number; end: number }
  | { kind: 'filter'; name: string; pos: number; end: number }
  | { kind: 'value'; text: string; quoted: boolean; pos: number; end: number };

/** Longer inputs are refused: a filter travels in a URL and is run over every flow. */
export const MAX_FILTER_LENGTH = 4096;

const SPACE = /\s/;
/** Characters that end a bare word (they are operators, or spaces). */
const WORD_END = /[\s()&|]/;

export class LexError extends Error {
  constructor(readonly detail: FilterError) {
    super(detail.error);
  }
}

/**
 * Splits a filter into tokens with their offsets. `&&` and `||` are read as `&` and `|`
 * (people type them from habit). A bare word runs to the next space or operator; it cannot
 * start with `~ ! " '` (quote it to search for those).
 */
export function tokenize(input: string): Token[] {
  if (input.length > MAX_FILTER_LENGTH) {
    throw new LexError({ error: `the filter is ${input.length} characters long; at most ${MAX_FILTER_LENGTH} are accepted`, position: MAX_FILTER_LENGTH });
  }
  const out: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (SPACE.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === '!') {
      out.push({ kind: c, pos: i, end: i + 1 });
      i++;
    } else if (c === '&' || c === '|') {
      const len = input[i + 1] === c ? 2 : 1;
      out.push({ kind: c, pos: i, end: i + len });
      i += len;
    } else if (c === '~') {
      const m = /^~([a-z][a-z0-9-]*)?/i.exec(input.slice(i, i + 40))!;
      if (m[1] === undefined) {
        throw new LexError({ error: 'a ~ must be followed by a filter name, e.g. ~d example.com (quote "~" to search for it)', position: i });
      }
      out.push({ kind: 'filter', name: m[1].toLowerCase(), pos: i, end: i + m[0].length });
      i += m[0].length;
    } else if (c === '"' || c === "'") {
      const { text, end } = quoted(input, i);
      out.push({ kind: 'value', text, quoted: true, pos: i, end });
      i = end;
    } else {
      let j = i;
      while (j < input.length && !WORD_END.test(input[j]!)) j++;
      out.push({ kind: 'value', text: input.slice(i, j), quoted: false, pos: i, end: j });
      i = j;
    }
  }
  return out;
}

/** A string in " or ' quotes; a backslash takes the next character as it is. */
function quoted(input: string, start: number): { text: string; end: number } {
  const q = input[start]!;
  let text = '';
  for (let i = start + 1; i < input.length; i++) {
    const c = input[i]!;
    if (c === '\\') {
      if (i + 1 >= input.length) break;
      text += input[++i];
    } else if (c === q) {
      return { text, end: i + 1 };
    } else text += c;
  }
  throw new LexError({ error: `unterminated string: the ${q} here has no closing ${q}`, position: start });
}
