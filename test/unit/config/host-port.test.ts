import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHostPort, type HostPort } from '../../../src/config/host-port.js';

const cases: Array<[input: string, expected: HostPort | undefined]> = [
  ['0.0.0.0:8888', { host: '0.0.0.0', port: 8888 }],
  ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
  ['localhost:0', { host: 'localhost', port: 0 }],
  [':8888', { host: '0.0.0.0', port: 8888 }],
  ['[::]:8888', { host: '::', port: 8888 }],
  ['[::1]:9090', { host: '::1', port: 9090 }],
  [' proxy.example:3128 ', { host: 'proxy.example', port: 3128 }],
  ['host:65535', { host: 'host', port: 65535 }],
  ['0.0.0.0', undefined],
  ['0.0.0.0:', undefined],
  ['0.0.0.0:65536', undefined],
  ['0.0.0.0:123456', undefined],
  ['host:port', undefined],
  ['::1:80', undefined],
  ['[1.2.3.4]:80', undefined],
  ['[]:80', undefined],
  ['[::1]', undefined],
  ['', undefined],
];
for (const [input, expected] of cases) {
  test(`parseHostPort(${JSON.stringify(input)})`, () => {
    assert.deepEqual(parseHostPort(input), expected);
  });
}
