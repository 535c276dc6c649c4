import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

const POLICY = `
policy:
  rules:
    - id: corp-services
      action: allow
      hosts: ['*.corp.example']
    - id: no-corp-databases
      action: deny
      hosts: [10.20.5.0/24]
    - id: corp-network
      action: allow
      hosts: [10.20.0.0/16]
    - id: payments
      action: allow
      hosts: [api.stripe.com]
      identities: ['spiffe://cluster.local/ns/payments/sa/api']
`;

// egresskit explain: the decision without traffic, its exit codes (0 allowed, 1 refused,
// 2 usage) and a clear one-line error for each kind of bad input.
describe('egresskit explain (CLI)', () => {
  let dir: string;
  let config: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'egresskit-explain-'));
    config = join(dir, 'policy.yaml');
    await writeFile(config, POLICY);
  });

  it('an allowed name: the rule, and what each kind of address would get once resolved (exit 0)', async () => {
    const r = await runCli(['explain', '--config', config, 'wiki.corp.example']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^wiki\.corp\.example:443 {2}ALLOWED if it resolves to a public address$/m);
    assert.match(r.stdout, /rule {6}corp-services \(name phase, enforce\)/);
    assert.match(r.stdout, /a private address, e\.g\. 10\.0\.0\.1 +REFUSED +rule private-address/);
    assert.match(r.stdout, /fix: allow this range with --allow 10\.0\.0\.1\/32 .*or all private ranges with --allow-private/);
    assert.match(r.stdout, /an address in 10\.20\.5\.0\/24 \(rule no-corp-databases\) +REFUSED/);
    assert.match(r.stdout, /an address in 10\.20\.0\.0\/16 \(rule corp-network\) +ALLOWED/);
    assert.equal(r.stderr, '');
  });

  it('a refused name: why, and the fix (exit 1)', async () => {
    const r = await runCli(['explain', '--config', config, 'www.example.com:443']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^www\.example\.com:443 {2}REFUSED before any DNS lookup$/m);
    assert.match(r.stdout, /why {7}no rule matched www\.example\.com; allow rules are set/);
    assert.match(r.stdout, /fix {7}allow it with --allow www\.example\.com/);
  });

  it('several targets: one refused makes the exit 1, each is explained', async () => {
    const r = await runCli(['explain', '--config', config, 'wiki.corp.example', '10.20.5.9:443', '10.20.1.1']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^10\.20\.5\.9:443 {2}REFUSED/m);
    assert.match(r.stdout, /^10\.20\.1\.1:443 {2}ALLOWED$/m);
    assert.match(r.stdout, /10\.20\.1\.1 +ALLOWED +rule corp-network/);
  });

  it('--identity decides as a client certificate', async () => {
    const as = await runCli(['explain', '--config', config, '--identity', 'spiffe://cluster.local/ns/payments/sa/api', 'api.stripe.com:443']);
    assert.equal(as.code, 0, as.stdout);
    assert.match(as.stdout, /identity {2}spiffe:\/\/cluster\.local\/ns\/payments\/sa\/api \(client certificate\)/);
    const other = await runCli(['explain', '--config', config, '--user', 'alice', 'api.stripe.com:443']);
    assert.equal(other.code, 1);
    assert.match(other.stdout, /identity {2}alice \(Basic user\)/);
  });

  it('--json: one document with the decision of each target', async () => {
    const r = await runCli(['explain', '--config', config, '--json', 'wiki.corp.example', 'www.example.com']);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as { allowed: boolean; results: Array<{ target: string; decidedAt: string; refused: boolean; decision: { ruleId: string; hint?: string }; ifResolved?: unknown[] }> };
    assert.equal(report.allowed, false);
    assert.deepEqual(
      report.results.map((x) => [x.target, x.decidedAt, x.refused, x.decision.ruleId]),
      [
        ['wiki.corp.example:443', 'unresolved', false, 'corp-services'],
        ['www.example.com:443', 'host', true, 'default'],
      ],
    );
    assert.equal(report.results[0]!.ifResolved?.length, 4);
    assert.match(report.results[1]!.decision.hint ?? '', /--allow www\.example\.com/);
  });

  it('explains a flag-configured proxy: the same flags as forward', async () => {
    const r = await runCli(['explain', '--allow', 'api.example.com', '--connect-ports', '443', 'api.example.com', 'api.example.com:80']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^api\.example\.com:443 {2}ALLOWED/m);
    assert.match(r.stdout, /rule {6}--allow\[0\]/);
    assert.match(r.stdout, /^api\.example\.com:80 {2}REFUSED[^]*add 80 to --connect-ports/m);
    const report = await runCli(['explain', '--deny', 'pastebin.com', '--report', 'pastebin.com']);
    assert.equal(report.code, 0, 'a report-mode denial is not a refusal');
    assert.match(report.stdout, /WOULD-DENY .*report mode/);
  });

  it('--resolve decides the addresses the name resolves to now', async () => {
    const guarded = await runCli(['explain', '--allow', 'localhost', '--resolve', 'localhost:443']);
    assert.equal(guarded.code, 1);
    assert.match(guarded.stdout, /^localhost:443 {2}REFUSED$/m);
    assert.match(guarded.stdout, /127\.0\.0\.1 +REFUSED +rule private-address/);
    const open = await runCli(['explain', '--allow', 'localhost', '--allow-private', '--resolve', '--json', 'localhost:443']);
    assert.equal(open.code, 0, open.stdout);
    const x = (JSON.parse(open.stdout) as { results: Array<{ decidedAt: string; addresses: Array<{ address: string; refused: boolean }> }> }).results[0]!;
    assert.equal(x.decidedAt, 'addresses');
    assert.ok(x.addresses.some((a) => a.address === '127.0.0.1' && !a.refused), JSON.stringify(x.addresses));
  });

  it('--resolve: the proxy\'s own listener is a loop; a name that does not resolve fails (exit 1)', async () => {
    // Nothing listens: explain only reads the configured port, for the self-loop guard.
    const loop = await runCli(['explain', '--listen', '127.0.0.1:18888', '--allow-private', '--connect-ports', '18888', '--resolve', 'localhost:18888']);
    assert.equal(loop.code, 1);
    assert.match(loop.stdout, /rule self[^]*never proxies to itself/);
    const missing = await runCli(['explain', '--resolve', 'no-such-host.invalid']);
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /FAILS: policy lets it through, but dns_/);
  });

  const usage: Array<{ name: string; args: () => string[]; stderr: RegExp }> = [
    { name: 'an unknown flag', args: () => ['explain', '--bogus', 'x.example'], stderr: /unknown option '--bogus'/ },
    { name: 'no target', args: () => ['explain', '--config', config], stderr: /missing required argument 'targets'/ },
    { name: 'a bad target', args: () => ['explain', '--config', config, 'exa mple.com:443'], stderr: /^egresskit: bad target "exa mple\.com:443": .*expected HOST\[:PORT\]/m },
    { name: 'a port out of range', args: () => ['explain', 'x.example:70000'], stderr: /bad target "x\.example:70000": .*port out of range/ },
    { name: 'an unreadable config file', args: () => ['explain', '--config', join(dir, 'missing.yaml'), 'x.example'], stderr: /^egresskit: cannot read config file .*missing\.yaml/m },
    { name: 'an invalid policy', args: () => ['explain', '--allow', '10.0.0.0/99', 'x.example'], stderr: /policy\.rules\[0\]\.hosts\[0\]: "10\.0\.0\.0\/99" has a bad prefix length/ },
    { name: '--identity and --user together', args: () => ['explain', '--identity', 'a', '--user', 'b', 'x.example'], stderr: /--identity .* or --user .*not both/ },
  ];
  for (const c of usage) {
    it(`usage error: ${c.name} (exit 2, nothing on stdout)`, async () => {
      const r = await runCli(c.args());
      assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, c.stderr);
      assert.equal(r.stdout, '');
    });
  }

  // A directory fails to read for root too (EISDIR), unlike a file without read permission.
  it('usage error: a config path that cannot be read (a directory)', async () => {
    const r = await runCli(['explain', '--config', dir, 'x.example']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot read config file .*EISDIR/);
  });
});
