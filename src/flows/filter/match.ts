import type { FilterNode } from './ast.js';
import { BODY_FILTERS } from './filters.js';
import type { FilterSubject, HeaderFields } from './subject.js';

export type FilterPredicate = (s: FilterSubject) => boolean;

/** Whether evaluating the filter may read a body (the expensive part). */
export function usesBodies(node: FilterNode): boolean {
  switch (node.type) {
    case 'and':
    case 'or':
      return usesBodies(node.left) || usesBodies(node.right);
    case 'not':
      return usesBodies(node.operand);
    case 'filter':
      return BODY_FILTERS.has(node.name);
    case 'text':
      return false;
  }
}

/**
 * A predicate for the tree. Values are case-insensitive substrings, not regexes: a regex on a
 * 1 MiB body can backtrack for minutes on the proxy's one thread (`.*x` is already quadratic).
 * In `&` and `|`, a side that reads no body is tried first: predicates have no side effects, so
 * only the cost changes, and most flows are decided before any body is decoded.
 */
export function compileFilter(node: FilterNode | null): FilterPredicate {
  if (node === null) return () => true;
  switch (node.type) {
    case 'and':
    case 'or': {
      let [a, b] = [node.left, node.right];
      if (usesBodies(a) && !usesBodies(b)) [a, b] = [b, a];
      const [pa, pb] = [compileFilter(a), compileFilter(b)];
      return node.type === 'and' ? (s) => pa(s) && pb(s) : (s) => pa(s) || pb(s);
    }
    case 'not': {
      const p = compileFilter(node.operand);
      return (s) => !p(s);
    }
    case 'text': {
      const needle = node.text.toLowerCase();
      return (s) => freeText(s, needle);
    }
    case 'filter':
      return filterPredicate(node.name, node.args);
  }
}

const has = (haystack: string | null | undefined, needle: string): boolean => haystack != null && haystack.toLowerCase().includes(needle);

/** Free text: URL, method, status, identity, client address and header lines; bodies only with ~b. */
function freeText(s: FilterSubject, needle: string): boolean {
  return (
    has(s.url, needle) ||
    has(s.method, needle) ||
    (s.status !== null && String(s.status).includes(needle)) ||
    has(s.identity, needle) ||
    has(s.client, needle) ||
    headerLine(s.requestHeaders, needle) ||
    headerLine(s.responseHeaders, needle)
  );
}

function headerLine(headers: HeaderFields | null, needle: string): boolean {
  return headers !== null && headers.some(([n, v]) => `${n}: ${v}`.toLowerCase().includes(needle));
}

function namedHeader(headers: HeaderFields | null, name: string, value: string): boolean {
  return headers !== null && headers.some(([n, v]) => n.toLowerCase() === name && v.toLowerCase().includes(value));
}

function contentType(headers: HeaderFields | null): string | undefined {
  return headers?.find(([n]) => n.toLowerCase() === 'content-type')?.[1];
}

function headerPredicate(args: string[], which: 'q' | 's' | 'both'): FilterPredicate {
  const [a = '', b] = args.map((x) => x.toLowerCase());
  const test = b === undefined ? (h: HeaderFields | null) => headerLine(h, a) : (h: HeaderFields | null) => namedHeader(h, a, b);
  if (which === 'q') return (s) => test(s.requestHeaders);
  if (which === 's') return (s) => test(s.responseHeaders);
  return (s) => test(s.requestHeaders) || test(s.responseHeaders);
}

function statusPredicate(pattern: string): FilterPredicate {
  return (s) => {
    if (s.status === null) return false;
    const code = String(s.status);
    return code.length === 3 && [...pattern].every((c, i) => c === 'x' || c === code[i]);
  };
}

function filterPredicate(name: string, args: string[]): FilterPredicate {
  const v = (args[0] ?? '').toLowerCase();
  switch (name) {
    case 'd': return (s) => has(s.host, v);
    case 'u': return (s) => has(s.url, v);
    case 'm': return (s) => s.method.toLowerCase() === v;
    case 'c': return statusPredicate(v);
    case 'h': return headerPredicate(args, 'both');
    case 'hq': return headerPredicate(args, 'q');
    case 'hs': return headerPredicate(args, 's');
    case 'b': return (s) => (s.bodyLower('request')?.includes(v) ?? false) || (s.bodyLower('response')?.includes(v) ?? false);
    case 'bq': return (s) => s.bodyLower('request')?.includes(v) ?? false;
    case 'bs': return (s) => s.bodyLower('response')?.includes(v) ?? false;
    case 't': return (s) => has(contentType(s.requestHeaders), v) || has(contentType(s.responseHeaders), v);
    case 'tq': return (s) => has(contentType(s.requestHeaders), v);
    case 'ts': return (s) => has(contentType(s.responseHeaders), v);
    case 'i': return (s) => has(s.identity, v);
    case 'src': return (s) => has(s.client, v);
    case 'x': return (s) => s.verdict === v;
    case 'denied': return (s) => s.verdict === 'denied';
    case 'rule': return (s) => has(s.ruleId, v);
    case 'p': return (s) => s.protocol === v;
    case 'websocket': return (s) => s.protocol === 'ws';
    case 'e': return (s) => s.errored;
    case 'q': return (s) => s.status === null;
    case 's': return (s) => s.status !== null;
    case 'passthrough': return (s) => s.passthrough;
    case 'imported': return (s) => s.imported;
    case 'all': return () => true;
    default:
      // The parser only lets known names through; a new FILTERS entry needs a case here.
      throw new Error(`filter ~${name} has no matcher`);
  }
}
