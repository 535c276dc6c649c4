import { isIP } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
}

/** "0.0.0.0:8888", "[::]:8888", "localhost:0", ":8888" (all interfaces); undefined when malformed. */
export function parseHostPort(text: string): HostPort | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const host = m[1] ?? (m[2] || '0.0.0.0');
  if (m[1] !== undefined && isIP(m[1]) !== 6) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host, port };
}
