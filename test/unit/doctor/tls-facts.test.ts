import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspectionProduct } from '../../../src/doctor/tls-facts.js';

describe('which issuers mean TLS interception', () => {
  const cases: Array<[issuer: string, product: string | undefined]> = [
    ['egresskit inspect CA', 'egresskit'],
    ['egresskit dev inspect CA', 'egresskit'],
    // What `egresskit certs` makes for a service's own certificates: no interception.
    ['egresskit CA', undefined],
    ['mitmproxy', 'mitmproxy'],
    ['Zscaler Root CA', 'Zscaler'],
    ["Let's Encrypt R11", undefined],
  ];
  for (const [issuer, product] of cases) {
    test(`${issuer} -> ${product ?? 'not interception'}`, () => assert.equal(inspectionProduct(issuer), product));
  }
});
