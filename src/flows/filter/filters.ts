/**
 * Every `~name` the language knows, as data: how many values it takes, how a value is checked
 * and normalised, and the help line the UI and the README show. mitmproxy's names and meanings
 * where it has one (~d ~m ~c ~h ~hq ~hs ~b ~bq ~bs ~u ~q ~s ~e ~t ~src ~websocket ~all);
 * egresskit's own for what mitmproxy has no word for (identity, decision, protocol...).
 */
export interface FilterSpec {
  /** none: a flag (~e); one: ~d TEXT; one-or-two: ~h NAME [VALUE]. */
  arity: 'none' | 'one' | 'one-or-two';
  /** Checks and normalises a value; returns an error message when it is not accepted. */
  value?: (v: string) => { value: string } | { error: string };
  syntax: string;
  meaning: string;
  example: string;
}

const VERDICTS = ['allowed', 'denied', 'would-deny'];
const PROTOCOLS = ['h1', 'h2', 'ws', 'tunnel'];

function oneOf(what: string, choices: string[]) {
  return (v: string): { value: string } | { error: string } => {
    const lower = v.toLowerCase();
    return choices.includes(lower) ? { value: lower } : { error: `${what} must be one of ${choices.join(', ')}, not ${JSON.stringify(v)}` };
  };
}

/** 404, a class (4xx) or a decade (40x). */
function statusPattern(v: string): { value: string } | { error: string } {
  const lower = v.toLowerCase();
  return /^[1-5](?:[0-9]{2}|[0-9]x|xx)$/.test(lower)
    ? { value: lower }
    : { error: `~c takes a status code (404), a class (4xx) or a decade (40x), not ${JSON.stringify(v)}` };
}

function method(v: string): { value: string } | { error: string } {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v) ? { value: v.toUpperCase() } : { error: `~m takes a method such as GET or POST, not ${JSON.stringify(v)}` };
}

export const FILTERS: Readonly<Record<string, FilterSpec>> = {
  d: { arity: 'one', syntax: '~d TEXT', meaning: 'host (domain) contains TEXT', example: '~d api.example.com' },
  u: { arity: 'one', syntax: '~u TEXT', meaning: 'full URL contains TEXT', example: '~u /v1/orders?' },
  m: { arity: 'one', value: method, syntax: '~m METHOD', meaning: 'request method is METHOD (any case)', example: '~m POST' },
  c: { arity: 'one', value: statusPattern, syntax: '~c CODE', meaning: 'response status: a code, a class or a decade', example: '~c 4xx' },
  h: { arity: 'one-or-two', syntax: '~h NAME [VALUE]', meaning: 'a request or response header: one value is searched in "name: value" lines; two mean a header named NAME whose value contains VALUE', example: '~h user-agent curl' },
  hq: { arity: 'one-or-two', syntax: '~hq NAME [VALUE]', meaning: 'as ~h, request headers only', example: '~hq authorization' },
  hs: { arity: 'one-or-two', syntax: '~hs NAME [VALUE]', meaning: 'as ~h, response headers only', example: '~hs "content-type: text/html"' },
  b: { arity: 'one', syntax: '~b TEXT', meaning: 'request or response body contains TEXT (decoded from gzip, br, deflate, zstd)', example: '~b "error"' },
  bq: { arity: 'one', syntax: '~bq TEXT', meaning: 'request body contains TEXT', example: '~bq password' },
  bs: { arity: 'one', syntax: '~bs TEXT', meaning: 'response body contains TEXT', example: '~bs "rate limit"' },
  t: { arity: 'one', syntax: '~t TEXT', meaning: 'request or response content-type contains TEXT', example: '~t json' },
  tq: { arity: 'one', syntax: '~tq TEXT', meaning: 'request content-type contains TEXT', example: '~tq multipart' },
  ts: { arity: 'one', syntax: '~ts TEXT', meaning: 'response content-type contains TEXT', example: '~ts image/' },
  i: { arity: 'one', syntax: '~i TEXT', meaning: 'client identity (mTLS certificate identity or proxy user) contains TEXT', example: '~i spiffe://cluster.local/ns/shop/' },
  src: { arity: 'one', syntax: '~src TEXT', meaning: 'client address contains TEXT', example: '~src 10.0.3.' },
  x: { arity: 'one', value: oneOf('~x', VERDICTS), syntax: '~x allowed|denied|would-deny', meaning: 'policy decision (would-deny: a report-mode rule would have refused it)', example: '~x would-deny' },
  rule: { arity: 'one', syntax: '~rule TEXT', meaning: 'the deciding policy rule id contains TEXT', example: '~rule block-metadata' },
  p: { arity: 'one', value: oneOf('~p', PROTOCOLS), syntax: '~p h1|h2|ws|tunnel', meaning: 'protocol: HTTP/1.x, HTTP/2, WebSocket, or a tunnel with no intercepted exchange', example: '~p h2' },
  denied: { arity: 'none', syntax: '~denied', meaning: 'refused by policy (same as ~x denied)', example: '~denied' },
  e: { arity: 'none', syntax: '~e', meaning: 'the flow ended in an error', example: '~e & ~d example.com' },
  q: { arity: 'none', syntax: '~q', meaning: 'request without a response', example: '~q' },
  s: { arity: 'none', syntax: '~s', meaning: 'has a response', example: '~s & ~c 2xx' },
  websocket: { arity: 'none', syntax: '~websocket', meaning: 'WebSocket flows (same as ~p ws)', example: '~websocket' },
  passthrough: { arity: 'none', syntax: '~passthrough', meaning: 'tunnels relayed without interception', example: '~passthrough' },
  imported: { arity: 'none', syntax: '~imported', meaning: 'flows read from an imported HAR file', example: '!~imported' },
  all: { arity: 'none', syntax: '~all', meaning: 'every flow', example: '~all' },
};

/** Filters that read bodies: the only expensive ones, evaluated last and decoded off the event loop. */
export const BODY_FILTERS: ReadonlySet<string> = new Set(['b', 'bq', 'bs']);

/** The closest known name, for "did you mean": same first letter, then the shortest. */
export function suggestFilter(name: string): string | undefined {
  const names = Object.keys(FILTERS);
  const prefix = names.filter((n) => n.startsWith(name) || name.startsWith(n));
  const pick = prefix.length > 0 ? prefix : names.filter((n) => n[0] === name[0]);
  return pick.sort((a, b) => Math.abs(a.length - name.length) - Math.abs(b.length - name.length))[0];
}
