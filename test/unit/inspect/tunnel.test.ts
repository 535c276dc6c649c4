import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Destination } from '../../../src/model/destination.js';
import { sameAuthority } from '../../../src/inspect/tunnel.js';

describe('an authority inside a tunnel', () => {
  const t = (host: string, port: number, hostKind: Destination['hostKind'], authority: string) => ({ dest: { host, port, hostKind } as Destination, authority });
  const api = t('api.example.com', 443, 'name', 'api.example.com');
  const odd = t('api.example.com', 8443, 'name', 'api.example.com:8443');
  const v6 = t('::1', 443, 'ipv6', '[::1]');

  it('names the tunnel: exact, default port spelled out, any case, trailing dot, IPv6 in brackets', () => {
    for (const a of ['api.example.com', 'api.example.com:443', 'API.Example.COM', 'api.example.com.']) assert.equal(sameAuthority(a, api), true, a);
    assert.equal(sameAuthority('api.example.com:8443', odd), true);
    for (const a of ['[::1]', '[::1]:443', '[0:0:0:0:0:0:0:1]']) assert.equal(sameAuthority(a, v6), true, a);
  });

  it('anything else does not: another host, another port, userinfo, a path, garbage', () => {
    for (const a of ['evil.example', 'api.example.com:444', 'api.example.com.evil.example', 'user@api.example.com', 'api.example.com/x', '', ' ', '[::1']) {
      assert.equal(sameAuthority(a, api), false, a);
    }
    assert.equal(sameAuthority('api.example.com', odd), false);
  });
});
