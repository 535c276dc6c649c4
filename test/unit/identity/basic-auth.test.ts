import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProxyAuthorization, type BasicCredentials } from '../../../src/identity/basic-auth.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

const cases: Array<[name: string, header: string | undefined, expected: BasicCredentials | 'malformed' | undefined]> = [
  ['absent', undefined, undefined],
  ['valid', `Basic ${b64('alice:s3cret')}`, { user: 'alice', password: 's3cret' }],
  ['lowercase scheme', `basic ${b64('alice:s3cret')}`, { user: 'alice', password: 's3cret' }],
  ['uppercase scheme', `BASIC ${b64('alice:s3cret')}`, { user: 'alice', password: 's3cret' }],
  ['extra whitespace', `  Basic   ${b64('alice:s3cret')}  `, { user: 'alice', password: 's3cret' }],
  ['the password may contain colons', `Basic ${b64('alice:a:b:c')}`, { user: 'alice', password: 'a:b:c' }],
  ['an empty password', `Basic ${b64('alice:')}`, { user: 'alice', password: '' }],
  ['UTF-8', `Basic ${b64('zoë:pässwörd')}`, { user: 'zoë', password: 'pässwörd' }],
  ['empty header', '', 'malformed'],
  ['scheme only', 'Basic', 'malformed'],
  ['scheme and space only', 'Basic ', 'malformed'],
  ['another scheme', 'Bearer abc.def.ghi', 'malformed'],
  ['no space after the scheme', `Basic${b64('alice:s3cret')}`, 'malformed'],
  ['not base64', 'Basic !!!!', 'malformed'],
  ['bad base64 length', 'Basic abc', 'malformed'],
  ['padding in the middle', 'Basic YQ==YQ==', 'malformed'],
  ['unpadded base64', `Basic ${b64('alice:s3cret1').replace(/=+$/, '')}`, 'malformed'],
  ['two tokens', `Basic ${b64('a:b')} ${b64('c:d')}`, 'malformed'],
  ['no colon', `Basic ${b64('alice')}`, 'malformed'],
  ['empty user', `Basic ${b64(':s3cret')}`, 'malformed'],
  ['empty credentials', `Basic ${b64(':')}`, 'malformed'],
];
for (const [name, header, expected] of cases) {
  test(`parseProxyAuthorization: ${name}`, () => {
    assert.deepEqual(parseProxyAuthorization(header), expected);
  });
}
