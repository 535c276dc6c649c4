import { BlockList, isIP, isIPv4 } from 'node:net';
import { rulesOf, RUNTIMES, type DomainMatch, type RuntimeId, type RuntimeRule } from './runtime-rules.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** What one runtime would do for a URL: a proxy URL or direct, and the reason in one line. */
export interface RuntimeChoice {
  runtime: RuntimeId;
  label: string;
  proxy: string | undefined;
  why: string;
  /** NO_PROXY entries this runtime reads but cannot apply (a CIDR it ignores). */
  ignored: string[];
}

type Kind<K extends RuntimeRule['kind']> = Extract<RuntimeRule, { kind: K }>;
const pick = <K extends RuntimeRule['kind']>(rules: RuntimeRule[], kind: K): Array<Kind<K>> => rules.filter((r): r is Kind<K> => r.kind === kind);

/** First variable of `vars` that is set and non-empty (an empty value counts as unset everywhere). */
function firstSet(env: Env, vars: readonly string[]): { name: string; value: string } | undefined {
  for (const name of vars) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return { name, value: value.trim() };
  }
  return undefined;
}

function bareHost(host: string): string {
  return host.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
}

function cidrMatches(cidr: string, host: string): boolean {
  const [net, bits] = cidr.split('/');
  const family = isIP(net ?? '');
  if (!family || !isIP(host) || isIP(host) !== family || !/^\d+$/.test(bits ?? '')) return false;
  const list = new BlockList();
  try {
    list.addSubnet(net!, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
  } catch {
    return false;
  }
  return list.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

function ipRangeMatches(range: string, host: string): boolean {
  const [from, to] = range.split('-');
  if (!from || !to || !isIPv4(from) || !isIPv4(to) || !isIPv4(host)) return false;
  const list = new BlockList();
  list.addRange(from, to, 'ipv4');
  return list.check(host, 'ipv4');
}

function domainMatches(how: DomainMatch, domain: string, host: string): boolean {
  switch (how) {
    case 'exact':
      return host === domain;
    case 'domain-and-subdomains':
      return host === domain || host.endsWith(`.${domain}`);
    case 'subdomains-only':
      return host.endsWith(`.${domain}`);
    case 'string-suffix':
      return host.endsWith(domain);
    case 'never':
      return false;
  }
}

/** Which NO_PROXY entry sends `host:port` direct for this runtime, and which entries it cannot use. */
export function matchNoProxy(runtime: RuntimeId, list: string, host: string, port: number): { match: string | undefined; ignored: string[] } {
  const rules = rulesOf(runtime);
  const domainRule = (entry: 'bare' | 'dot' | 'star-dot') => pick(rules, 'no-proxy-domain').find((r) => r.entry === entry)?.match ?? 'never';
  const cidr = pick(rules, 'no-proxy-cidr')[0]?.support ?? 'no';
  const h = bareHost(host);
  const ignored: string[] = [];
  let match: string | undefined;
  for (const source of list.split(/[\s,]+/).filter(Boolean)) {
    let text = source.toLowerCase();
    let entryPort: number | undefined;
    const withPort = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text);
    if (withPort) {
      text = withPort[1]!;
      entryPort = Number(withPort[2]);
    }
    text = bareHost(text);
    if (entryPort !== undefined && entryPort !== port) continue;
    let hit: boolean;
    if (text === '*') hit = true;
    else if (text.includes('/')) {
      const usable = cidr === 'yes' || (cidr === 'ipv4-literal' && isIPv4(h));
      if (!usable) {
        ignored.push(source);
        continue;
      }
      hit = cidrMatches(text, h);
    } else if (/^[\d.]+-[\d.]+$/.test(text)) {
      // Only Node documents address ranges; elsewhere the entry is a name that matches nothing.
      hit = runtime === 'node-http' && ipRangeMatches(text, h);
    } else if (isIP(text)) hit = text === h;
    else if (text.startsWith('*.')) hit = domainMatches(domainRule('star-dot'), text.slice(2), h);
    else if (text.startsWith('.')) hit = domainMatches(domainRule('dot'), text.slice(1), h);
    else hit = domainMatches(domainRule('bare'), text, h);
    if (hit && match === undefined) match = source;
  }
  return { match, ignored };
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|::1)$/;

/** The Java proxy from -D options in JAVA_TOOL_OPTIONS / JDK_JAVA_OPTIONS. */
function javaChoice(env: Env, url: URL, vars: readonly string[]): { proxy: string | undefined; why: string } {
  const props = new Map<string, { value: string; from: string }>();
  for (const name of vars) {
    for (const m of (env[name] ?? '').matchAll(/-D([\w.]+)=("[^"]*"|\S*)/g)) props.set(m[1]!, { value: m[2]!.replace(/^"|"$/g, ''), from: name });
  }
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const host = props.get(`${scheme}.proxyHost`);
  if (!host) {
    return { proxy: undefined, why: `Java ignores proxy variables; set ${scheme}.proxyHost (e.g. JAVA_TOOL_OPTIONS="-D${scheme}.proxyHost=HOST -D${scheme}.proxyPort=PORT")` };
  }
  // Java's default: localhost|127.*|[::1]; the same list serves http and https.
  const non = props.get('http.nonProxyHosts')?.value ?? 'localhost|127.*|[::1]';
  const h = bareHost(url.hostname);
  const hit = non.split('|').map((p) => bareHost(p.trim())).find((p) => p !== '' && new RegExp(`^${p.replace(/[.+?^${}()[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(h));
  if (hit) return { proxy: undefined, why: `http.nonProxyHosts entry '${hit}' matches` };
  const port = props.get(`${scheme}.proxyPort`)?.value ?? (scheme === 'https' ? '443' : '80');
  return { proxy: `http://${host.value}:${port}`, why: `-D${scheme}.proxyHost in ${host.from}` };
}

export function runtimeChoice(runtime: RuntimeId, env: Env, url: URL): RuntimeChoice {
  const rules = rulesOf(runtime);
  const base = { runtime, label: RUNTIMES[runtime].label, ignored: [] as string[] };
  const sys = pick(rules, 'system-properties')[0];
  if (sys) return { ...base, ...javaChoice(env, url, sys.optionVars) };
  const optIn = pick(rules, 'opt-in')[0];
  if (optIn && env[optIn.env] !== optIn.value && !(env.NODE_OPTIONS ?? '').split(/\s+/).includes(optIn.nodeOption)) {
    return { ...base, proxy: undefined, why: `proxy variables are ignored without ${optIn.env}=${optIn.value} (or NODE_OPTIONS=${optIn.nodeOption})` };
  }
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  let vars = pick(rules, 'proxy-vars').find((r) => r.scheme === scheme)?.vars ?? [];
  const cgi = pick(rules, 'cgi-ignores')[0];
  const dropped = cgi && env.REQUEST_METHOD !== undefined ? vars.filter((v) => cgi.vars.includes(v)) : [];
  vars = vars.filter((v) => !dropped.includes(v));
  const chosen = firstSet(env, vars);
  const host = bareHost(url.hostname);
  const port = Number(url.port || (scheme === 'https' ? 443 : 80));
  if (pick(rules, 'always-direct').length > 0 && LOOPBACK.test(host)) {
    return { ...base, proxy: undefined, why: 'localhost and loopback addresses are never proxied' };
  }
  if (!chosen) {
    const note = dropped.length ? ` (${dropped.join(', ')} ignored: REQUEST_METHOD is set, a CGI environment)` : '';
    return { ...base, proxy: undefined, why: `none of ${vars.join(', ')} is set${note}` };
  }
  const noProxyVar = firstSet(env, pick(rules, 'no-proxy-vars')[0]?.vars ?? []);
  if (noProxyVar) {
    const { match, ignored } = matchNoProxy(runtime, noProxyVar.value, host, port);
    if (match) return { ...base, ignored, proxy: undefined, why: `${noProxyVar.name} entry '${match}' matches ${host}` };
    base.ignored = ignored;
  }
  const proxy = /^[a-z][a-z0-9+.-]*:\/\//i.test(chosen.value) ? chosen.value : `http://${chosen.value}`;
  const fallback = scheme === 'https' && !/https/i.test(chosen.name) ? ` (no https variable is set, so ${chosen.name} serves https too)` : '';
  return { ...base, proxy, why: `${chosen.name}${fallback}` };
}
