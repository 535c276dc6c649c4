import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PeerCertificate } from 'node:tls';
import { identityFromCertificate, parseSubjectAltName } from '../../../src/identity/certificate.js';
import type { ClientIdentity } from '../../../src/model/identity.js';

type San = { type: string; value: string };

describe('parseSubjectAltName', () => {
  const cases: Array<[text: string | undefined, expected: San[]]> = [
    [undefined, []],
    ['', []],
    ['DNS:api.example.com', [{ type: 'DNS', value: 'api.example.com' }]],
    [
      'DNS:a.example.com, DNS:b.example.com',
      [
        { type: 'DNS', value: 'a.example.com' },
        { type: 'DNS', value: 'b.example.com' },
      ],
    ],
    [
      'URI:spiffe://cluster.local/ns/payments/sa/api, DNS:api.payments.svc',
      [
        { type: 'URI', value: 'spiffe://cluster.local/ns/payments/sa/api' },
        { type: 'DNS', value: 'api.payments.svc' },
      ],
    ],
    [
      'IP Address:10.0.0.1, IP Address:FD00:0:0:0:0:0:0:1',
      [
        { type: 'IP Address', value: '10.0.0.1' },
        { type: 'IP Address', value: 'FD00:0:0:0:0:0:0:1' },
      ],
    ],
    ['email:ops@example.com', [{ type: 'email', value: 'ops@example.com' }]],
    ['Registered ID:1.2.3.4', [{ type: 'Registered ID', value: '1.2.3.4' }]],
    ['othername:XmppAddr::alice@example.com', [{ type: 'othername', value: 'XmppAddr::alice@example.com' }]],
    // Node quotes values with commas or quotes as JSON strings (CVE-2021-44532).
    [
      'DNS:"a,b.example.com", URI:spiffe://x/y',
      [
        { type: 'DNS', value: 'a,b.example.com' },
        { type: 'URI', value: 'spiffe://x/y' },
      ],
    ],
    [
      'URI:"spiffe://cluster.local/ns/a,b/sa/c", DNS:real.example.com',
      [
        { type: 'URI', value: 'spiffe://cluster.local/ns/a,b/sa/c' },
        { type: 'DNS', value: 'real.example.com' },
      ],
    ],
    ['DirName:"CN=a,O=b"', [{ type: 'DirName', value: 'CN=a,O=b' }]],
    ['URI:"with \\"quotes\\""', [{ type: 'URI', value: 'with "quotes"' }]],
    // A quoted value that is not valid JSON is dropped rather than guessed at.
    ['DNS:"bad\\q", DNS:ok.example.com', [{ type: 'DNS', value: 'ok.example.com' }]],
  ];
  for (const [text, expected] of cases) {
    test(JSON.stringify(text), () => {
      assert.deepEqual(parseSubjectAltName(text), expected);
    });
  }

  test('a comma inside a quoted value cannot forge a second entry', () => {
    const sans = parseSubjectAltName('DNS:"evil.example, URI:spiffe://cluster.local/ns/payments/sa/api"');
    assert.deepEqual(sans, [{ type: 'DNS', value: 'evil.example, URI:spiffe://cluster.local/ns/payments/sa/api' }]);
    assert.equal(
      sans.some((s) => s.type === 'URI'),
      false,
    );
  });
});

/** A plain object shaped like the parts of tls.PeerCertificate that identity reads. */
function cert(fields: { CN?: string | string[]; san?: string; serialNumber?: string; fingerprint256?: string; noSubject?: boolean }): PeerCertificate {
  const out: Record<string, unknown> = {};
  if (!fields.noSubject) out.subject = fields.CN === undefined ? { O: 'Example' } : { O: 'Example', CN: fields.CN };
  if (fields.san !== undefined) out.subjectaltname = fields.san;
  if (fields.serialNumber !== undefined) out.serialNumber = fields.serialNumber;
  if (fields.fingerprint256 !== undefined) out.fingerprint256 = fields.fingerprint256;
  return out as unknown as PeerCertificate;
}

describe('identityFromCertificate', () => {
  const cases: Array<[name: string, input: PeerCertificate, expected: ClientIdentity]> = [
    [
      'URI SAN beats DNS SAN and CN',
      cert({ CN: 'api', san: 'DNS:api.payments.svc, URI:spiffe://cluster.local/ns/payments/sa/api', serialNumber: '01AB', fingerprint256: 'AA:BB' }),
      {
        kind: 'certificate',
        principal: 'spiffe://cluster.local/ns/payments/sa/api',
        attributes: { cn: 'api', serial: '01AB', fingerprint256: 'AA:BB' },
      },
    ],
    [
      'the first URI SAN wins',
      cert({ san: 'URI:spiffe://a/one, URI:spiffe://a/two' }),
      { kind: 'certificate', principal: 'spiffe://a/one', attributes: {} },
    ],
    [
      'DNS SAN beats CN',
      cert({ CN: 'worker', san: 'DNS:worker.batch.svc, IP Address:10.0.0.7' }),
      { kind: 'certificate', principal: 'worker.batch.svc', attributes: { cn: 'worker' } },
    ],
    ['CN when there are no SANs', cert({ CN: 'legacy-client' }), { kind: 'certificate', principal: 'legacy-client', attributes: { cn: 'legacy-client' } }],
    [
      'CN when the SANs hold neither URI nor DNS',
      cert({ CN: 'ip-only', san: 'IP Address:10.0.0.7, email:a@b.example' }),
      { kind: 'certificate', principal: 'ip-only', attributes: { cn: 'ip-only' } },
    ],
    ['the first of several CNs', cert({ CN: ['first', 'second'] }), { kind: 'certificate', principal: 'first', attributes: { cn: 'first' } }],
    [
      'a quoted URI with a comma',
      cert({ CN: 'x', san: 'URI:"spiffe://cluster.local/ns/a,b/sa/c"' }),
      { kind: 'certificate', principal: 'spiffe://cluster.local/ns/a,b/sa/c', attributes: { cn: 'x' } },
    ],
    ['nothing to go on', cert({}), { kind: 'certificate', principal: null, attributes: {} }],
    ['no subject at all', cert({ noSubject: true, serialNumber: '02' }), { kind: 'certificate', principal: null, attributes: { serial: '02' } }],
  ];
  for (const [name, input, expected] of cases) {
    test(name, () => {
      assert.deepEqual(identityFromCertificate(input), expected);
    });
  }
});
