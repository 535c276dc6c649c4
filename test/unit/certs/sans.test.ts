import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSan, parseSans } from '../../../src/certs/index.js';
import { ipToBytes } from '../../../src/certs/sans.js';
import { errorWith } from './helpers.js';

const good: [string, string, string][] = [
  ['localhost', 'dns', 'localhost'],
  ['Proxy.Egress.SVC.cluster.local.', 'dns', 'proxy.egress.svc.cluster.local'],
  ['*.svc.cluster.local', 'dns', '*.svc.cluster.local'],
  ['my_host.internal', 'dns', 'my_host.internal'],
  ['bücher.example', 'dns', 'xn--bcher-kva.example'],
  ['  padded.example  ', 'dns', 'padded.example'],
  ['127.0.0.1', 'ip', '127.0.0.1'],
  ['::1', 'ip', '::1'],
  ['[::1]', 'ip', '::1'],
  ['2001:DB8:0:0::1', 'ip', '2001:db8::1'],
  ['::ffff:10.1.2.3', 'ip', '::ffff:a01:203'],
  ['spiffe://cluster.local/ns/payments/sa/api', 'uri', 'spiffe://cluster.local/ns/payments/sa/api'],
  ['https://Example.com/Path', 'uri', 'https://Example.com/Path'],
];

for (const [input, type, value] of good) {
  test(`parseSan accepts ${JSON.stringify(input)} as ${type}`, () => {
    assert.deepEqual(parseSan(input), { type, value });
  });
}

const bad: [string, RegExp][] = [
  ['', /empty entry/],
  ['has space.example', /not an IP address, a URI/],
  ['double..dot.example', /not an IP address, a URI/],
  ['-lead.example', /not an IP address, a URI/],
  ['trail-.example', /not an IP address, a URI/],
  [`${'a'.repeat(64)}.example`, /not an IP address, a URI/],
  [`${'a.'.repeat(127)}com`, /at most 253 characters/],
  ['*.com', /at least two labels/],
  ['a.*.example', /only allowed as the whole leftmost label/],
  ['foo*.example', /only allowed as the whole leftmost label/],
  ['10.1', /short form/],
  ['1.2.3', /short form/],
  ['fe80::1%eth0', /zone index/],
  ['spiffe://', /not a valid URI|no authority/],
  ['http://exa mple.com/', /not a valid URI|ASCII/],
  ['file:///etc/passwd', /no authority/],
];

for (const [input, pattern] of bad) {
  test(`parseSan rejects ${JSON.stringify(input.length > 40 ? input.slice(0, 40) + '...' : input)}`, () => {
    assert.throws(() => parseSan(input), errorWith('INVALID_INPUT', pattern));
    // The message names the entry so a list of twenty SANs is debuggable.
    assert.throws(() => parseSan(input), (err: Error) => err.message.includes(`'${input}'`));
  });
}

test('parseSans groups by kind, keeps order and drops duplicates', () => {
  assert.deepEqual(parseSans(['b.example', '10.0.0.1', 'A.example', 'b.example', 'spiffe://td/x', '[::1]', '::1']), {
    dns: ['b.example', 'a.example'],
    ip: ['10.0.0.1', '::1'],
    uri: ['spiffe://td/x'],
  });
  assert.deepEqual(parseSans([]), { dns: [], ip: [], uri: [] });
});

test('parseSans names the bad entry in a list', () => {
  assert.throws(() => parseSans(['ok.example', 'not ok']), /invalid SAN 'not ok'/);
});

const ipBytes: [string, string][] = [
  ['1.2.3.4', '01020304'],
  ['::1', '00000000000000000000000000000001'],
  ['2001:db8::1', '20010db8000000000000000000000001'],
  ['fe80::', 'fe800000000000000000000000000000'],
  ['::', '00000000000000000000000000000000'],
  ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
];
for (const [ip, hex] of ipBytes) {
  test(`ipToBytes(${ip})`, () => assert.equal(ipToBytes(ip).toString('hex'), hex));
}
