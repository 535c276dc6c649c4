import { networkInterfaces } from 'node:os';
import type { SelfAddresses } from './decide.js';
import { classifyAddress } from './ip-classes.js';

/** This host's addresses, so "proxy to my own port via my pod IP" is caught like loopback. */
export function selfAddresses(ports: () => number[]): SelfAddresses {
  const local = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) local.add(a.address.toLowerCase());
  return {
    isSelf(ip, port) {
      if (!ports().includes(port)) return false;
      const cls = classifyAddress(ip).cls;
      return cls === 'loopback' || cls === 'unspecified' || local.has(ip.toLowerCase());
    },
  };
}
