import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startCli, type CliProxy } from '../helpers/cli.js';
import { curl } from '../helpers/exec.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { startHttpsUpstream, type Upstream } from '../helpers/upstream.js';

interface FlowJson {
  id: string;
  url: string;
  method: string;
  state: string;
  status: number | null;
  request: { body: { utf8: string | null; size: number } };
  response: { body: { utf8: string | null; size: number } } | null;
}

interface Har {
  log: { entries: Array<{ request: { method: string; url: string; postData?: { text?: string } }; response: { status: number; content: { text?: string } } }> };
}

/**
 * stderr without Node's own warning: on Node.js 22/24 node:sqlite (the fallback driver) prints
 * "ExperimentalWarning: SQLite is an experimental feature" once when it loads.
 */
function ownStderr(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => !/^\(node:\d+\) ExperimentalWarning: SQLite|^\(Use `node --trace-warnings/.test(l))
    .join('\n');
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  return (await res.json()) as T;
}

describe('inspect --flows-db: flows survive a restart', () => {
  let pki: TestPki;
  let https: Upstream;
  let dir: string;
  let caDir: string;
  let db: string;
  let proxy: CliProxy | undefined;

  const args = () => [
    'inspect', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--ui', '127.0.0.1:0',
    '--ca-dir', caDir, '--upstream-ca', pki.caFile, '--allow-private', '--connect-ports', String(https.port),
    '--flows-db', db,
  ];
  const uiOf = async (p: CliProxy) => {
    const listening = await p.waitForLog((l) => l.event === 'listening');
    return { ui: `http://127.0.0.1:${/:(\d+)$/.exec(String(listening.ui))![1]}`, listening };
  };
  const flows = async (ui: string) => (await getJson<{ flows: FlowJson[] }>(`${ui}/api/flows`)).flows;
  /** The proxy finishes a flow just after the client has its last byte. */
  const settled = async (ui: string, count: number): Promise<FlowJson[]> => {
    for (let i = 0; i < 100; i++) {
      const list = await flows(ui);
      if (list.length >= count && list.every((f) => f.state !== 'open')) return list;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`flows did not settle: ${JSON.stringify(await flows(ui))}`);
  };

  before(async () => {
    pki = await makeTestPki('egk-flowsdb');
    https = await startHttpsUpstream(pki.serverCert, pki.serverKey);
    dir = await mkdtemp(join(tmpdir(), 'egk-flowsdb-'));
    caDir = join(dir, 'ca');
    db = join(dir, 'flows.db');
  });
  after(async () => {
    await proxy?.stop();
    await https?.close();
    await rm(dir, { recursive: true, force: true });
    if (pki) await rm(pki.dir, { recursive: true, force: true });
  });

  let before1: FlowJson[];

  it('first run: the listening line names the database; flows are captured; the file is 0600', async () => {
    proxy = await startCli(args());
    const { ui, listening } = await uiOf(proxy);
    assert.equal(listening.flows_db, db);
    assert.equal(listening.flows_restored, 0);
    assert.match(String(listening.flows_db_driver), /^(better-sqlite3|node:sqlite)$/);
    const ca = join(caDir, 'ca.crt');
    const get = await curl(['--cacert', ca, '-x', proxy.url, `${https.origin}/echo?run=1`]);
    assert.equal(get.status, 200, get.stderr);
    const post = await curl(['--cacert', ca, '-x', proxy.url, '-d', '{secretkey: secretvalue}', `${https.origin}/echo`]);
    assert.equal(post.status, 200, post.stderr);
    before1 = await settled(ui, 2);
    assert.equal((await stat(db)).mode & 0o777, 0o600);
  });

  it('SIGTERM drains, writes the flows and exits 0', async () => {
    const { code } = await proxy!.stop('SIGTERM');
    assert.equal(code, 0, proxy!.stderr());
    assert.ok(proxy!.logs.some((l) => l.event === 'closed'));
    proxy = undefined;
    // Closing checkpoints the write-ahead log into the database file.
    assert.equal(existsSync(`${db}-wal`), false);
    assert.equal((await stat(db)).mode & 0o777, 0o600);
  });

  it('second run with the same --flows-db and --ca-dir: the flows, bodies included, are back in the API and the HAR', async () => {
    proxy = await startCli(args());
    const { ui, listening } = await uiOf(proxy);
    assert.equal(listening.flows_restored, 2);
    const list = await flows(ui);
    assert.deepEqual(list.map((f) => [f.id, f.method, f.url, f.status]), before1.map((f) => [f.id, f.method, f.url, f.status]));

    const postId = list.find((f) => f.method === 'POST')!.id;
    const detail = await getJson<FlowJson>(`${ui}/api/flows/${postId}`);
    assert.equal(detail.state, 'complete');
    assert.equal(detail.request.body.utf8, '{secretkey: secretvalue}');
    assert.match(detail.response!.body.utf8!, /"bodyLength":24/);

    const har = await getJson<Har>(`${ui}/api/flows.har`);
    const post = har.log.entries.find((e) => e.request.method === 'POST' && e.request.url === `${https.origin}/echo`);
    assert.ok(post, JSON.stringify(har.log.entries.map((e) => e.request.url)));
    assert.equal(post.request.postData?.text, '{secretkey: secretvalue}');
    assert.equal(post.response.status, 200);
    assert.match(post.response.content.text ?? '', /"bodyLength":24/);

    // The same CA: a client that trusted it in the first run still does.
    const again = await curl(['--cacert', join(caDir, 'ca.crt'), '-x', proxy.url, `${https.origin}/echo?run=2`]);
    assert.equal(again.status, 200, again.stderr);
    const now = await settled(ui, 3);
    assert.equal(now[0]!.url, `${https.origin}/echo?run=2`);
  });

  it('a second egresskit on the same file exits 2: the file is locked by the first', async () => {
    const r = await runCli(args());
    assert.equal(r.code, 2, r.stderr);
    assert.equal(ownStderr(r.stderr), `egresskit: cannot use the flows database ${db} (--flows-db, inspect.flowsDb): another process holds it (egresskit keeps its flows database locked while it runs); stop the other egresskit, or give each its own --flows-db\n`);
    // The first one is unharmed.
    const { ui } = await uiOf(proxy!);
    assert.equal((await flows(ui)).length, 3);
  });

  it('unusable paths exit 2 with one line naming the path and the fix; a file that is not a database is left as it was', async () => {
    const base = ['inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ui', 'off', '--ca-dir', caDir];
    const asDir = await runCli([...base, '--flows-db', dir]);
    assert.equal(asDir.code, 2);
    assert.match(ownStderr(asDir.stderr), new RegExp(`^egresskit: cannot use the flows database ${dir} \\(--flows-db, inspect.flowsDb\\): it is a directory; give a file path, e\\.g\\. --flows-db ${join(dir, 'flows.db')}\\n$`));

    const notes = join(dir, 'notes.txt');
    const text = 'not a database, and it must stay what it is\n'.repeat(3);
    await writeFile(notes, text);
    const notDb = await runCli([...base, '--flows-db', notes]);
    assert.equal(notDb.code, 2);
    assert.match(ownStderr(notDb.stderr), /^egresskit: cannot use the flows database .*notes\.txt .*: the file is not a SQLite database; give a path of its own/);
    assert.equal(ownStderr(notDb.stderr).split('\n').length, 2);
    assert.equal(await readFile(notes, 'utf8'), text);

    // "~/" is the home directory (as for --ca-dir), from the flag and from the config file alike.
    const home = await runCli([...base, '--flows-db', '~/missing/flows.db'], { HOME: dir });
    assert.equal(home.code, 2);
    assert.match(ownStderr(home.stderr), new RegExp(`the directory ${join(dir, 'missing')} does not exist \\(ENOENT\\); create it \\(mkdir -p`));
    const config = join(dir, 'egresskit.yaml');
    await writeFile(config, 'inspect:\n  flowsDb: ~/missing/flows.db\n');
    const fromFile = await runCli([...base, '--config', config], { HOME: dir });
    assert.equal(fromFile.code, 2);
    assert.match(ownStderr(fromFile.stderr), new RegExp(`cannot use the flows database ${join(dir, 'missing', 'flows.db')} `));

    const unwritable = await runCli([...base, '--flows-db', '/sys/egresskit-flows.db']);
    assert.equal(unwritable.code, 2);
    assert.match(ownStderr(unwritable.stderr), /^egresskit: cannot use the flows database \/sys\/egresskit-flows\.db .*\((EACCES|EROFS|EPERM)\); .*writable/);
  });
});
