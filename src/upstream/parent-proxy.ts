import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { ProxyError, toProxyError } from '../model/errors.js';
import { formatHostPort, type Destination } from '../model/destination.js';

export interface ParentProxy {
  url: URL;
  /** "host:port" for logs; never includes credentials. */
  display: string;
  /** Precomputed Proxy-Authorization value, or undefined. */
  authorization: string | undefined;
}

export function parseParentProxy(text: string): ParentProxy {
  const url = new URL(text);
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  return {
    url,
    display: `${url.protocol}//${url.hostname}:${port}`,
    authorization: user ? `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` : undefined,
  };
}

const MAX_RESPONSE_HEAD = 16 * 1024;

/**
 * Opens a tunnel through the parent proxy (CONNECT), returning the socket once the parent said
 * 200. The parent does its own resolution: behind corporate proxies the pod often has no
 * public DNS at all.
 */
export function connectViaParent(parent: ParentProxy, dest: Destination, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const host = parent.url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(parent.url.port || (parent.url.protocol === 'https:' ? 443 : 80));
    const socket: Socket =
      parent.url.protocol === 'https:'
        ? tlsConnect({ host, port, servername: host, allowHalfOpen: true } as ConnectionOptions)
        : netConnect({ host, port, allowHalfOpen: true, noDelay: true });
    const authority = formatHostPort(dest.host, dest.port);
    let head = Buffer.alloc(0);
    const fail = (err: ProxyError) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new ProxyError('connect_timeout', `parent proxy ${parent.display} did not answer in ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once('error', (err) => fail(new ProxyError(toProxyError(err).code, `parent proxy ${parent.display}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err })));
    socket.once(parent.url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      const auth = parent.authorization ? `Proxy-Authorization: ${parent.authorization}\r\n` : '';
      socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
    });
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > MAX_RESPONSE_HEAD) fail(new ProxyError('parent_proxy_refused', `parent proxy ${parent.display} sent an oversized response`));
        return;
      }
      socket.off('data', onData);
      const statusLine = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
      if (status === 407) return fail(new ProxyError('parent_proxy_auth', `${parent.display} answered 407`));
      if (status < 200 || status > 299) {
        return fail(new ProxyError('parent_proxy_refused', `${parent.display} answered "${statusLine.slice(0, 120)}" for CONNECT ${authority}`));
      }
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.pause();
      const rest = head.subarray(end + 4);
      if (rest.length) socket.unshift(rest);
      resolve(socket);
    };
    socket.on('data', onData);
  });
}
