import { bodyAsUtf8, flowProtocol, flowUrl, headerValue, type Flow } from '../flows/flow.js';

/** Where a client reaches this proxy, and what it must trust. */
export interface ProxyAccess {
  /** http://host:port (or https:// for a TLS listener) as a client should use it. */
  proxyUrl: string;
  /** The interception CA's file, for --cacert. */
  caCertFile: string;
}

// Set by curl itself from the URL and body, or meaningful for one hop only (RFC 9110 section 7.6.1).
const CURL_SETS = new Set(['host', 'content-length', 'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'transfer-encoding', 'te', 'upgrade', 'http2-settings']);

/** POSIX shell single quotes: nothing inside is expanded; a quote is closed, escaped and reopened. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The request as a curl command that goes through this proxy again: --proxy, and --cacert for an
 * intercepted https URL (the proxy presents a leaf from its own CA). A body that is not text,
 * or was cut by the capture cap, is read from a file the user downloads (said in a comment).
 */
export function curlCommand(flow: Flow, access: ProxyAccess): string {
  const url = flow.kind === 'tunnel' ? `https://${flow.host.includes(':') ? `[${flow.host}]` : flow.host}:${flow.port}/` : flowUrl(flow);
  const lines: string[] = [];
  const args: string[] = ['curl'];
  if (flowProtocol(flow) === 'h2') args.push('--http2');
  args.push('--proxy', shellQuote(access.proxyUrl));
  if (access.proxyUrl.startsWith('https:')) {
    lines.push('# this proxy listens with TLS and asks for a client certificate: set the paths of yours');
    args.push('--proxy-cacert', shellQuote(access.caCertFile), '--proxy-cert', 'client.crt', '--proxy-key', 'client.key');
  }
  if (flow.scheme === 'https' && flow.passthrough !== true) args.push('--cacert', shellQuote(access.caCertFile));
  const method = flow.kind === 'tunnel' ? 'GET' : flow.request.method;
  if (method !== 'GET') args.push('-X', shellQuote(method));
  if (flow.kind !== 'tunnel') {
    for (const [name, value] of flow.request.headers) {
      if (name.startsWith(':') || CURL_SETS.has(name.toLowerCase())) continue;
      args.push('-H', shellQuote(`${name}: ${value}`));
    }
    if (headerValue(flow.request.headers, 'accept-encoding') !== undefined) args.push('--compressed');
    const body = flow.request.body;
    if (body.size > 0) {
      const text = body.truncated ? null : bodyAsUtf8(body);
      if (text !== null) args.push('--data-binary', shellQuote(text));
      else {
        const file = `${flow.id}-request.bin`;
        lines.push(
          body.truncated
            ? `# the request body was cut at ${body.captured.length} of ${body.size} bytes: ${file} holds only what was captured`
            : `# the request body is binary: download it from the flow's Request tab as ${file}`,
        );
        args.push('--data-binary', shellQuote(`@${file}`));
      }
    }
  }
  args.push(shellQuote(url));
  lines.push(args.join(' '));
  return `${lines.join('\n')}\n`;
}
