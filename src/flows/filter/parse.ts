import type { FilterNode, ParseResult } from './ast.js';
import { FILTERS, suggestFilter } from './filters.js';
import { LexError, tokenize, type Token } from './lexer.js';

/** Deeper nesting is refused rather than risking the stack (the parser is recursive). */
export const MAX_FILTER_DEPTH = 64;

class SyntaxFail extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

/**
 * Parses a filter. Never throws: a result, or an error with its offset in the input.
 *
 *   expr := and ('|' and)*          `|` binds loosest
 *   and  := not (['&'] not)*        two terms side by side mean `&`, as in mitmproxy
 *   not  := '!' not | '(' expr ')' | '~name' [value [value]] | value
 */
export function parseFilter(input: string): ParseResult {
  let tokens: Token[];
  try {
    tokens = tokenize(input);
  } catch (err) {
    if (err instanceof LexError) return { ok: false, ...err.detail };
    throw err;
  }
  if (tokens.length === 0) return { ok: true, ast: null };
  let at = 0;
  let depth = 0;
  const peek = (): Token | undefined => tokens[at];
  const end = input.length;

  const enter = (pos: number): void => {
    if (++depth > MAX_FILTER_DEPTH) throw new SyntaxFail(`the filter nests deeper than ${MAX_FILTER_DEPTH} levels`, pos);
  };

  const expr = (): FilterNode => {
    let left = and();
    while (peek()?.kind === '|') {
      at++;
      left = { type: 'or', left, right: and() };
    }
    return left;
  };

  const startsTerm = (t: Token | undefined): boolean => t !== undefined && (t.kind === '!' || t.kind === '(' || t.kind === 'filter' || t.kind === 'value');

  const and = (): FilterNode => {
    let left = not();
    for (;;) {
      const t = peek();
      if (t?.kind === '&') at++;
      else if (!startsTerm(t)) return left;
      left = { type: 'and', left, right: not() };
    }
  };

  const not = (): FilterNode => {
    const t = peek();
    if (t === undefined) throw new SyntaxFail('the filter ends where a term was expected (a ~filter, a word, ! or a parenthesis)', end);
    if (t.kind === '!') {
      at++;
      enter(t.pos);
      const operand = not();
      depth--;
      return { type: 'not', operand };
    }
    if (t.kind === '(') {
      at++;
      enter(t.pos);
      const inner = expr();
      depth--;
      const close = peek();
      if (close?.kind !== ')') {
        throw new SyntaxFail(`the ( at ${t.pos} is not closed${close ? `: expected ) here` : ''}`, close?.pos ?? end);
      }
      at++;
      return inner;
    }
    if (t.kind === 'filter') return filter(t);
    if (t.kind === 'value') {
      at++;
      return { type: 'text', text: t.text };
    }
    const what = t.kind === ')' ? 'a ) without its (' : `${t.kind} with nothing before it`;
    throw new SyntaxFail(`unexpected ${what}`, t.pos);
  };

  const filter = (t: Extract<Token, { kind: 'filter' }>): FilterNode => {
    at++;
    const spec = FILTERS[t.name];
    if (!spec) {
      const hint = suggestFilter(t.name);
      throw new SyntaxFail(`unknown filter ~${t.name}${hint ? ` (did you mean ~${hint}?)` : ''}; see the filter help`, t.pos);
    }
    if (spec.arity === 'none') return { type: 'filter', name: t.name, args: [] };
    const first = peek();
    if (first?.kind !== 'value') {
      throw new SyntaxFail(`~${t.name} needs a value: ${spec.syntax}, e.g. ${spec.example}`, first?.pos ?? end);
    }
    at++;
    const args = [checked(t.name, first)];
    const second = peek();
    if (spec.arity === 'one-or-two' && second?.kind === 'value') {
      at++;
      args.push(second.text);
    }
    return { type: 'filter', name: t.name, args };
  };

  const checked = (name: string, v: Extract<Token, { kind: 'value' }>): string => {
    const check = FILTERS[name]?.value;
    if (!check) return v.text;
    const r = check(v.text);
    if ('error' in r) throw new SyntaxFail(r.error, v.pos);
    return r.value;
  };

  try {
    const ast = expr();
    const rest = peek();
    if (rest) throw new SyntaxFail(rest.kind === ')' ? 'unexpected ) without its (' : `unexpected ${rest.kind}`, rest.pos);
    return { ok: true, ast };
  } catch (err) {
    if (err instanceof SyntaxFail) return { ok: false, error: err.message, position: err.position };
    throw err;
  }
}
