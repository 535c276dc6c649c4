import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startCli, type CliProxy, type LogLine } from '../helpers/cli.js';
import { curl } from '../helpers/exec.js';
import { startSharedHost, type SharedHost } from '../helpers/fronting.js';

/**
 * Domain fronting with a real client: curl --connect-to opens the tunnel to localhost (the
 * CONNECT host) while its TLS names fronted.test, a second name served from the same address.
 */
describe('SNI check with curl through the CLI (forward and mtls, each --sni-check mode)', () => {
  let host: SharedHost;
  let dir: string;
  let caFile: string;
  let certs: string;
  before(async () => {
    host = await startSharedHost();
    dir = await mkdtemp(join(tmpdir(), 'egk-sni-'));
    caFile = join(dir, 'shared-host-ca.crt');
    await writeFile(caFile, host.caPem);
    certs = join(dir, 'certs');
    const made = await runCli(['certs', 'mtls', '--out', certs]);
    assert.equal(made.code, 0, made.stderr);
  });
  after(async () => {
    await host?.close();
  });

  const modes = [
    { mode: 'forward', args: [] as string[], proxy: (p: CliProxy) => ['--proxy', `http://127.0.0.1:${p.port}`] },
    {
      mode: 'mtls',
      args: ['--cert', 'server.crt', '--key', 'server.key', '--client-ca', 'ca.crt'],
      proxy: (p: CliProxy) => [
        '--proxy', `https://localhost:${p.port}`, '--proxy-cacert', join(certs, 'ca.crt'),
        '--proxy-cert', join(certs, 'client.crt'), '--proxy-key', join(certs, 'client.key'),
      ],
    },
  ];
  for (const { mode, args, proxy: proxyArgs } of modes) {
    for (const check of ['enforce', 'report', 'off'] as const) {
      it(`${mode} --sni-check ${check}`, async () => {
        const p = await startCli([
          mode, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--allow-private',
          '--connect-ports', String(host.port), '--sni-ports', String(host.port), '--sni-check', check,
          ...args.flatMap((a) => (a.startsWith('--') ? [a] : [join(certs, a)])),
        ]);
        try {
          const fronted = await curl([...proxyArgs(p), '--cacert', caFile, '--connect-to', `fronted.test:${host.port}:localhost:${host.port}`, `https://fronted.test:${host.port}/`]);
          const line = await p.waitForLog((l: LogLine) => l.event === 'connect' && (l.sni === 'fronted.test' || check === 'off'));
          assert.equal(line.target, `localhost:${host.port}`);
          if (check === 'enforce') {
            assert.equal(fronted.code, 35, fronted.stderr);
            assert.match(fronted.stderr, /unrecognized name/);
            assert.equal(line.error, 'sni_mismatch');
            assert.equal(line.sni_mismatch, true);
            assert.match(String(line.error_detail), /"fronted\.test" differs from the CONNECT host localhost/);
          } else {
            assert.equal(fronted.status, 200, fronted.stderr);
            // The exchange completed (200 above). How curl then leaves is not what this test is
            // about: under Node 24 it sometimes ends the connection with a reset (seen once in
            // about 36 runs), which the tunnel's record names client_reset.
            assert.ok(line.error === null || line.error === 'client_reset', `tunnel error ${String(line.error)}`);
            assert.equal(line.sni_mismatch, check === 'report' ? true : null);
            assert.equal(line.sni, check === 'report' ? 'fronted.test' : null);
          }
          const plain = await curl([...proxyArgs(p), '--cacert', caFile, `https://localhost:${host.port}/`]);
          assert.equal(plain.status, 200, plain.stderr);
          const metrics = await (await fetch(`http://127.0.0.1:${p.adminPort}/metrics`)).text();
          const expected = check === 'enforce' ? 'refused' : 'reported';
          assert.equal(metrics.includes(`egresskit_sni_mismatch_total{action="${expected}",mode="${mode}"} 1`), check !== 'off', metrics.split('\n').filter((l) => l.includes('sni')).join('\n'));
        } finally {
          await p.stop();
        }
      });
    }
  }
});
