import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { startProxy, type ProxyHandle } from '../../../src/index.js';
import { runCli } from '../../helpers/cli.js';
import { shortLivedClientCert } from '../../helpers/pki-extra.js';
import { startHttpUpstream, type Upstream } from '../../helpers/upstream.js';

/** A handshake, a CONNECT and what the proxy answered ('' when it closed instead), plus the ticket it issued. */
function connectThrough(proxy: ProxyHandle, client: { ca: Buffer; cert: string; key: string }, target: string, session?: Buffer): Promise<{ reused: boolean; answer: string; session: Buffer | undefined }> {
  return new Promise((resolve) => {
    const s: TLSSocket = tlsConnect({ host: '127.0.0.1', port: proxy.address.port, servername: 'localhost', ...client, session });
    let reused = false;
    let answer = '';
    let ticket: Buffer | undefined;
    s.on('session', (t: Buffer) => (ticket ??= t));
    s.once('secureConnect', () => {
      reused = s.isSessionReused();
      s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    });
    s.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
      if (answer.includes('\r\n\r\n')) s.destroy();
    });
    s.on('error', () => undefined);
    s.once('close', () => resolve({ reused, answer, session: ticket }));
  });
}

describe('mtls: a resumed session is held to its client certificate\'s expiry', () => {
  let certs: string;
  let http: Upstream;
  let proxy: ProxyHandle;
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'egk-resumed-expiry-'));
    certs = join(dir, 'certs');
    const made = await runCli(['certs', 'mtls', '--out', certs]);
    assert.equal(made.code, 0, made.stderr);
    http = await startHttpUpstream();
    proxy = await startProxy({
      mode: 'mtls', listen: '127.0.0.1:0', admin: 'off',
      tls: { cert: join(certs, 'server.crt'), key: join(certs, 'server.key'), clientCa: join(certs, 'ca.crt') },
      policy: { allowPrivate: true, connectPorts: [http.port] },
    });
  });
  after(async () => {
    await proxy?.close(0);
    await http?.close();
  });

  it('a session made while the certificate was valid does not resume once it has expired', async () => {
    const short = await shortLivedClientCert(certs, 2500);
    const client = { ca: await readFile(join(certs, 'ca.crt')), cert: short.certPem, key: short.keyPem };
    const target = `127.0.0.1:${http.port}`;
    const first = await connectThrough(proxy, client, target);
    assert.match(first.answer, /^HTTP\/1\.1 200/);
    assert.ok(first.session);
    const again = await connectThrough(proxy, client, target, first.session);
    assert.equal(again.reused, true, 'while the certificate is valid the session resumes');
    assert.match(again.answer, /^HTTP\/1\.1 200/);
    await new Promise((r) => setTimeout(r, short.notAfter.getTime() - Date.now() + 1100));
    const late = await connectThrough(proxy, client, target, again.session ?? first.session);
    assert.doesNotMatch(late.answer, /^HTTP\/1\.1 200/, 'the expired certificate got no tunnel');
    for (let i = 0; i < 100 && !proxy.records().some((r) => r.kind === 'tls_error'); i++) await new Promise((r) => setTimeout(r, 10));
    const refused = proxy.records().find((r) => r.kind === 'tls_error');
    assert.ok(refused, 'a tls_error record');
    assert.equal(refused.error, 'tls_handshake');
    // The client offered the session and the proxy took it up (the ticket outlives the certificate): the refusal is the proxy's.
    assert.equal(late.reused, true);
    assert.match(String(refused.errorDetail), /expired since its TLS session began/);
  });
});
