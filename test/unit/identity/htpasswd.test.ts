import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, mock, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { Htpasswd, HtpasswdError } from '../../../src/identity/htpasswd.js';

// Cost 4 is bcrypt's minimum: fast tests, same code path.
const ALICE = bcrypt.hashSync('wonderland', 4);
const BOB = bcrypt.hashSync('builder', 4);
const FILE = `# users for the egress proxy\nalice:${ALICE}\n\nbob:${BOB}\r\n`;

function htpasswdError(text: string, source?: string): HtpasswdError {
  try {
    if (source === undefined) Htpasswd.parse(text);
    else Htpasswd.parse(text, source);
  } catch (err) {
    assert.ok(err instanceof HtpasswdError, `expected an HtpasswdError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the file to be refused');
}

describe('Htpasswd.parse', () => {
  test('reads bcrypt users, skipping comments, blank lines and CRLF', () => {
    assert.equal(Htpasswd.parse(FILE).size, 2);
  });

  test('accepts the $2y$ prefix Apache htpasswd -B writes', () => {
    assert.equal(Htpasswd.parse(`carol:${ALICE.replace(/^\$2b\$/, '$2y$')}`).size, 1);
    assert.equal(Htpasswd.parse(`carol:${ALICE.replace(/^\$2b\$/, '$2a$')}`).size, 1);
  });

  const weak: Array<[name: string, line: string, user: string]> = [
    ['SHA1', 'dave:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', 'dave'],
    ['Apache MD5', 'erin:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/', 'erin'],
    ['crypt', 'frank:rqXexS6ZhobKA', 'frank'],
    ['plain text', 'grace:password', 'grace'],
    ['truncated bcrypt', `heidi:${ALICE.slice(0, 40)}`, 'heidi'],
  ];
  for (const [name, line, user] of weak) {
    test(`refuses ${name} hashes, naming the line and suggesting htpasswd -B`, () => {
      const err = htpasswdError(`alice:${ALICE}\n# comment\n${line}\n`, '/etc/egresskit/htpasswd');
      assert.match(err.message, /^\/etc\/egresskit\/htpasswd:3: /);
      assert.ok(err.message.includes(`user "${user}" does not have a bcrypt hash`), err.message);
      assert.ok(err.message.includes(`htpasswd -B /etc/egresskit/htpasswd ${user}`), err.message);
    });
  }

  const malformed: Array<[name: string, text: string, message: RegExp]> = [
    ['no colon', 'justaname\n', /^htpasswd:1: expected user:hash$/],
    ['empty user', `:${ALICE}\n`, /^htpasswd:1: expected user:hash$/],
    ['empty hash', `alice:${ALICE}\nbob:\n`, /^htpasswd:2: expected user:hash$/],
    ['no users at all', '# nothing here\n\n', /^htpasswd: no users$/],
    ['empty file', '', /^htpasswd: no users$/],
  ];
  for (const [name, text, message] of malformed) {
    test(`refuses ${name}`, () => {
      assert.match(htpasswdError(text).message, message);
    });
  }
});

describe('Htpasswd.verify', () => {
  const users = Htpasswd.parse(FILE);
  const cases: Array<[user: string, password: string, expected: boolean]> = [
    ['alice', 'wonderland', true],
    ['bob', 'builder', true],
    ['alice', 'builder', false],
    ['alice', 'Wonderland', false],
    ['alice', '', false],
    ['bob', 'wonderland', false],
    ['mallory', 'wonderland', false],
    ['', '', false],
  ];
  for (const [user, password, expected] of cases) {
    test(`${user || '(empty)'} / ${password || '(empty)'} -> ${expected}`, async () => {
      assert.equal(await users.verify(user, password), expected);
    });
  }

  test('a second successful check is served from the cache; a wrong password is not', async (t) => {
    const fresh = Htpasswd.parse(FILE);
    const compare = t.mock.method(bcrypt, 'compare');
    assert.equal(await fresh.verify('alice', 'wonderland'), true);
    assert.equal(compare.mock.callCount(), 1);
    assert.equal(await fresh.verify('alice', 'wonderland'), true);
    assert.equal(compare.mock.callCount(), 1, 'the second success must not run bcrypt again');
    assert.equal(await fresh.verify('alice', 'wrong'), false);
    assert.equal(compare.mock.callCount(), 2, 'a different password is checked with bcrypt');
    assert.equal(await fresh.verify('alice', 'wonderland'), true);
    assert.equal(compare.mock.callCount(), 2);
  });

  test('failed checks are not cached', async (t) => {
    const fresh = Htpasswd.parse(FILE);
    const compare = t.mock.method(bcrypt, 'compare');
    assert.equal(await fresh.verify('bob', 'nope'), false);
    assert.equal(await fresh.verify('bob', 'nope'), false);
    assert.equal(compare.mock.callCount(), 2);
  });

  test('unknown users never reach bcrypt', async () => {
    const compare = mock.method(bcrypt, 'compare');
    try {
      assert.equal(await users.verify('nobody', 'x'), false);
      assert.equal(compare.mock.callCount(), 0);
    } finally {
      compare.mock.restore();
    }
  });
});

describe('Htpasswd.load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'egresskit-htpasswd-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('loads a file and names it in errors', async () => {
    const good = join(dir, 'good');
    writeFileSync(good, FILE);
    const users = Htpasswd.load(good);
    assert.equal(users.size, 2);
    assert.equal(await users.verify('bob', 'builder'), true);

    const weak = join(dir, 'weak');
    writeFileSync(weak, 'dave:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n');
    assert.throws(() => Htpasswd.load(weak), (err: unknown) => err instanceof HtpasswdError && err.message.includes(`htpasswd -B ${weak} dave`));
  });

  test('a missing file is an HtpasswdError naming it', () => {
    const missing = join(dir, 'missing');
    assert.throws(
      () => Htpasswd.load(missing),
      (err: unknown) => err instanceof HtpasswdError && err.message.startsWith(`cannot read htpasswd file ${missing}`),
    );
  });
});
