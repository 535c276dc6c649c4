import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAuthority } from '../../../src/model/destination.js';
import { newRecord } from '../../../src/model/record.js';
import { judgeFirstBytes } from '../../../src/pipeline/sni-check.js';
import type { FirstBytes } from '../../../src/pipeline/sni-peek.js';

const hello = (sni: string | undefined): FirstBytes => ({ kind: 'hello', sni });

/** [CONNECT authority, what was seen, check, requireTls] -> [refusal code or null, record.tls, record.sniMismatch] */
const CASES: Array<[string, FirstBytes, 'enforce' | 'report' | 'off', boolean, string | null, unknown, unknown]> = [
  ['api.example.com:443', hello('api.example.com'), 'enforce', false, null, true, undefined],
  ['api.example.com:443', hello('API.Example.COM.'), 'enforce', false, null, true, undefined],
  ['API.EXAMPLE.COM.:443', hello('api.example.com'), 'enforce', false, null, true, undefined],
  ['api.example.com:443', hello('evil.example.com'), 'enforce', false, 'sni_mismatch', true, true],
  ['api.example.com:443', hello('api.example.com.evil.net'), 'enforce', false, 'sni_mismatch', true, true],
  ['api.example.com:443', hello('api.example.co'), 'enforce', false, 'sni_mismatch', true, true],
  ['api.example.com:443', hello('evil.example.com'), 'report', false, null, true, true],
  ['api.example.com:443', hello('evil.example.com'), 'off', true, null, true, undefined],
  ['bücher.example:443', hello('xn--bcher-kva.example'), 'enforce', false, null, true, undefined],
  ['93.184.215.14:443', hello('blocked.example'), 'enforce', false, 'sni_mismatch', true, true],
  ['93.184.215.14:443', hello(undefined), 'enforce', false, null, 'no-sni', undefined],
  ['api.example.com:443', { kind: 'unreadable', why: 'x' }, 'enforce', false, 'sni_mismatch', true, undefined],
  ['api.example.com:443', { kind: 'unreadable', why: 'x' }, 'report', false, null, true, undefined],
  ['api.example.com:443', { kind: 'not-tls' }, 'enforce', false, null, false, undefined],
  ['api.example.com:443', { kind: 'not-tls' }, 'report', true, 'tls_required', false, undefined],
  ['api.example.com:443', { kind: 'silent' }, 'off', true, 'tls_required', false, undefined],
  ['api.example.com:443', { kind: 'gone' }, 'enforce', true, null, undefined, undefined],
];

describe('the SNI check decides on what the first bytes were', () => {
  for (const [authority, seen, check, requireTls, code, tls, mismatch] of CASES) {
    test(`${authority} ${JSON.stringify(seen)} ${check}${requireTls ? ' requireTls' : ''} -> ${code ?? 'through'}`, () => {
      const record = newRecord('t', 'connect', '192.0.2.1:1');
      const verdict = judgeFirstBytes(seen, parseAuthority(authority), check, requireTls, record);
      assert.equal(verdict?.code ?? null, code);
      assert.equal(record.tls, tls);
      assert.equal(record.sniMismatch, mismatch);
      if (verdict?.code === 'sni_mismatch' && seen.kind === 'hello') assert.equal(verdict.alert?.[6], 112, 'alert unrecognized_name');
    });
  }
});
