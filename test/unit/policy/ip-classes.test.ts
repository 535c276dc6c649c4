import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyAddress, embeddedIpv4, ipv6Groups, type AddressClass } from '../../../src/policy/ip-classes.js';

describe('classifyAddress: IPv4', () => {
  const cases: Array<[ip: string, cls: AddressClass]> = [
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['192.168.255.255', 'private'],
    ['169.254.0.1', 'link-local'],
    ['169.254.255.255', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.254', 'reserved'],
    ['192.0.0.1', 'reserved'],
    ['192.88.99.1', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.200', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    // Just outside the ranges above.
    ['93.184.216.34', 'public'],
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['9.255.255.255', 'public'],
    ['11.0.0.0', 'public'],
    ['172.15.255.255', 'public'],
    ['172.32.0.0', 'public'],
    ['100.63.255.255', 'public'],
    ['100.128.0.0', 'public'],
    ['126.255.255.255', 'public'],
    ['128.0.0.0', 'public'],
    ['169.253.255.255', 'public'],
    ['192.167.255.255', 'public'],
    ['192.169.0.0', 'public'],
    ['198.20.0.0', 'public'],
    ['223.255.255.255', 'public'],
  ];
  for (const [ip, cls] of cases) {
    test(`${ip} is ${cls}`, () => {
      assert.deepEqual(classifyAddress(ip), { cls });
    });
  }
});

describe('classifyAddress: IPv6', () => {
  const cases: Array<[ip: string, cls: AddressClass]> = [
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::2', 'reserved'],
    ['100::1', 'reserved'],
    ['2001:db8::1', 'documentation'],
    ['2001:DB8:ffff::1', 'documentation'],
    ['fc00::1', 'ula'],
    ['fd12:3456:789a::1', 'ula'],
    ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ula'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['ff0e::101', 'multicast'],
    ['fd00:ec2::254', 'metadata'],
    ['FD00:EC2::254', 'metadata'],
    // The same AWS metadata address spelled out in full is still the metadata endpoint.
    ['fd00:ec2:0:0:0:0:0:254', 'metadata'],
    ['2606:2800:220:1::1', 'public'],
    ['2606:2800:220:1:248:1893:25c8:1946', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['fbff:ffff::1', 'public'],
    ['fe00::1', 'public'],
  ];
  for (const [ip, cls] of cases) {
    test(`${ip} is ${cls}`, () => {
      assert.deepEqual(classifyAddress(ip), { cls });
    });
  }
});

describe('classifyAddress: IPv6 forms that embed an IPv4 address', () => {
  const cases: Array<[ip: string, cls: AddressClass, via: string | undefined]> = [
    // IPv4-mapped, dotted and hex spellings
    ['::ffff:127.0.0.1', 'loopback', '127.0.0.1'],
    ['::FFFF:127.0.0.1', 'loopback', '127.0.0.1'],
    ['::ffff:7f00:1', 'loopback', '127.0.0.1'],
    ['0:0:0:0:0:ffff:7f00:1', 'loopback', '127.0.0.1'],
    ['::ffff:169.254.169.254', 'metadata', '169.254.169.254'],
    ['::ffff:a9fe:a9fe', 'metadata', '169.254.169.254'],
    ['::ffff:10.1.2.3', 'private', '10.1.2.3'],
    ['::ffff:100.64.0.1', 'cgnat', '100.64.0.1'],
    ['::ffff:0.0.0.0', 'unspecified', '0.0.0.0'],
    ['::ffff:255.255.255.255', 'broadcast', '255.255.255.255'],
    // deprecated IPv4-compatible form and SIIT
    ['::127.0.0.1', 'loopback', '127.0.0.1'],
    ['::ffff:0:127.0.0.1', 'loopback', '127.0.0.1'],
    ['::ffff:0:a9fe:a9fe', 'metadata', '169.254.169.254'],
    // NAT64 (RFC 6052 well-known prefix, and the local-use prefix)
    ['64:ff9b::a9fe:a9fe', 'metadata', '169.254.169.254'],
    ['64:ff9b::169.254.169.254', 'metadata', '169.254.169.254'],
    ['64:ff9b::7f00:1', 'loopback', '127.0.0.1'],
    ['64:ff9b::c0a8:101', 'private', '192.168.1.1'],
    ['64:ff9b:1::a00:1', 'private', '10.0.0.1'],
    // 6to4
    ['2002:7f00:1::', 'loopback', '127.0.0.1'],
    ['2002:a9fe:a9fe::1', 'metadata', '169.254.169.254'],
    ['2002:a00:1::1', 'private', '10.0.0.1'],
    // Teredo: the client address is the inverted last 32 bits
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback', '127.0.0.1'],
    ['2001:0:4136:e378:8000:63bf:f5ff:fffe', 'private', '10.0.0.1'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'documentation', '192.0.2.45'],
  ];
  for (const [ip, cls, via] of cases) {
    test(`${ip} is ${cls} via ${via}`, () => {
      assert.deepEqual(classifyAddress(ip), { cls, via });
    });
  }

  const publicEmbedded = ['::ffff:8.8.8.8', '::ffff:93.184.216.34', '64:ff9b::808:808', '2002:808:808::1', '2001:0:4136:e378:8000:63bf:f7f7:f7f7'];
  for (const ip of publicEmbedded) {
    test(`${ip} embeds a public address and is public`, () => {
      assert.deepEqual(classifyAddress(ip), { cls: 'public' });
    });
  }

  test('::8.8.8.8 (compatible form, public inside) is still in the reserved ::/96', () => {
    assert.deepEqual(classifyAddress('::8.8.8.8'), { cls: 'reserved' });
  });

  for (const bad of ['', 'example.com', '127.1', '1.2.3.256', '::g', '[::1]']) {
    test(`throws a TypeError for ${JSON.stringify(bad)}`, () => {
      assert.throws(() => classifyAddress(bad), TypeError);
    });
  }
});

describe('embeddedIpv4', () => {
  const cases: Array<[ip: string, v4: string | undefined]> = [
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::ffff:7f00:1', '127.0.0.1'],
    ['::ffff:0:7f00:1', '127.0.0.1'],
    ['::1.2.3.4', '1.2.3.4'],
    ['64:ff9b::a9fe:a9fe', '169.254.169.254'],
    ['2002:7f00:1::', '127.0.0.1'],
    ['2002:0102:0304::5', '1.2.3.4'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', '127.0.0.1'],
    // ::, ::1 and ::a.b (only the low 16 bits set) are not IPv4-compatible addresses
    ['::', undefined],
    ['::1', undefined],
    ['::0.0.0.1', undefined],
    ['2606:2800:220:1::1', undefined],
    ['fe80::1', undefined],
    ['2001:db8::1', undefined],
    ['127.0.0.1', undefined],
    ['example.com', undefined],
  ];
  for (const [ip, v4] of cases) {
    test(`${ip} -> ${v4}`, () => {
      assert.equal(embeddedIpv4(ip), v4);
    });
  }
});

describe('ipv6Groups', () => {
  const cases: Array<[ip: string, groups: number[]]> = [
    ['::', [0, 0, 0, 0, 0, 0, 0, 0]],
    ['::1', [0, 0, 0, 0, 0, 0, 0, 1]],
    ['1::', [1, 0, 0, 0, 0, 0, 0, 0]],
    ['1:2:3:4:5:6:7:8', [1, 2, 3, 4, 5, 6, 7, 8]],
    ['2001:db8::1', [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]],
    ['2001:DB8::1', [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]],
    ['fe80::1:2', [0xfe80, 0, 0, 0, 0, 0, 1, 2]],
    ['1:2::7:8', [1, 2, 0, 0, 0, 0, 7, 8]],
    ['::ffff:127.0.0.1', [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]],
    ['::ffff:7f00:1', [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]],
    ['1:2:3:4:5:6:1.2.3.4', [1, 2, 3, 4, 5, 6, 0x102, 0x304]],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', Array<number>(8).fill(0xffff)],
  ];
  for (const [ip, groups] of cases) {
    test(`${ip}`, () => {
      assert.deepEqual(ipv6Groups(ip), groups);
    });
  }
});
