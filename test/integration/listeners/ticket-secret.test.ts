import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { startProxy, type ProxyHandle } from '../../../src/index.js';
import { runCli } from '../../helpers/cli.js';

/** A full handshake with `proxy` (or a resumption of `session`): whether it resumed, and the ticket it got. */
function handshake(proxy: ProxyHandle, client: { ca: Buffer; cert: Buffer; key: Buffer }, session?: Buffer): Promise<{ reused: boolean; session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port: proxy.address.port, servername: 'localhost', ...client, session });
    s.once('error', reject);
    s.once('secureConnect', () => {
      const reused = s.isSessionReused();
      const timer = setTimeout(() => done(undefined), 2000);
      const done = (ticket: Buffer | undefined) => {
        clearTimeout(timer);
        s.destroy();
        resolve({ reused, session: ticket });
      };
      s.once('session', done);
    });
  });
}

describe('ticketSecret: proxies (workers) given the same secret resume each other\'s TLS sessions', () => {
  let certs: string;
  let client: { ca: Buffer; cert: Buffer; key: Buffer };
  const proxies: ProxyHandle[] = [];
  const start = async (ticketSecret?: Buffer) => {
    const p = await startProxy(
      { mode: 'mtls', listen: '127.0.0.1:0', admin: 'off', tls: { cert: join(certs, 'server.crt'), key: join(certs, 'server.key'), clientCa: join(certs, 'ca.crt') } },
      ticketSecret ? { ticketSecret } : {},
    );
    proxies.push(p);
    return p;
  };
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'egk-ticket-secret-'));
    certs = join(dir, 'certs');
    const made = await runCli(['certs', 'mtls', '--out', certs]);
    assert.equal(made.code, 0, made.stderr);
    const [ca, cert, key] = await Promise.all(['ca.crt', 'client.crt', 'client.key'].map((f) => readFile(join(certs, f))));
    client = { ca: ca!, cert: cert!, key: key! };
  });
  after(async () => {
    await Promise.all(proxies.map((p) => p.close(0)));
  });

  it('a session from one resumes on the other; without the shared secret it does not', async () => {
    const secret = randomBytes(32);
    const [a, b, c] = [await start(secret), await start(Buffer.from(secret)), await start()];
    const first = await handshake(a, client);
    assert.equal(first.reused, false);
    assert.ok(first.session, 'a session ticket was issued');
    assert.equal((await handshake(b, client, first.session)).reused, true, 'the second process resumes the first one\'s session');
    assert.equal((await handshake(c, client, first.session)).reused, false, 'a process with its own secret does a full handshake');
  });
});
