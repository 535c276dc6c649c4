import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { flowFromJson, flowToJson } from '../../../src/flows/flow-codec.js';
import { FLOW_DB_SCHEMA, FlowDb, INTERRUPTED } from '../../../src/flows/flow-db.js';
import { FlowStore } from '../../../src/flows/flow-store.js';
import type { Flow } from '../../../src/flows/flow.js';
import { openSqlite, SQLITE_DRIVERS, type SqliteDriverName } from '../../../src/flows/sqlite-driver.js';
import { InspectSetupError } from '../../../src/model/setup-error.js';
import { body, makeFlow } from './flows/make-flow.js';

/** Every byte value, so base64 and the Buffer marker are really exercised. */
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

function richFlow(): Flow {
  const flow = makeFlow({
    method: 'POST',
    requestHeaders: [['Host', 'api.example.com'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2']],
    requestBody: body(ALL_BYTES, 100),
    responseBody: body('{"ok":true}'),
  });
  flow.identity = 'spiffe://cluster.local/ns/a/sa/b';
  flow.response!.trailers = [['x-checksum', 'abc123']];
  flow.tls = { sni: 'api.example.com', clientAlpn: 'http/1.1', upstreamAlpn: 'http/1.1', upstreamProtocol: 'TLSv1.3', upstreamCipher: 'TLS_AES_128_GCM_SHA256', upstreamVerified: false };
  flow.websocket = {
    messages: [
      { direction: 'send', opcode: 1, at: 1767323045678, data: body('hello') },
      { direction: 'receive', opcode: 2, at: 1767323045679, data: body(ALL_BYTES, 10) },
      { direction: 'receive', opcode: 8, at: 1767323045680, data: body(Buffer.from([0x03, 0xe8])) },
    ],
    droppedMessages: 3,
    closeCode: 1000,
    closeReason: 'bye',
  };
  flow.error = { code: 'upstream_reset', message: 'the upstream closed the connection' };
  flow.state = 'error';
  return flow;
}

describe('flowToJson / flowFromJson', () => {
  test('round-trips a flow exactly: bodies, truncation, trailers, tls, websocket messages, error', () => {
    const flow = richFlow();
    const back = flowFromJson(flowToJson(flow));
    assert.deepStrictEqual(back, flow);
    assert.ok(Buffer.isBuffer(back.request.body.captured));
    assert.ok(Buffer.isBuffer(back.websocket!.messages[1]!.data.captured));
    assert.equal(back.request.body.truncated, true);
    assert.equal(back.request.body.size, 256);
  });

  test('bodies are base64 in the JSON, not arrays of numbers', () => {
    const json = flowToJson(richFlow());
    assert.ok(json.includes(`{"$b64":"${ALL_BYTES.subarray(0, 100).toString('base64')}"}`));
    assert.doesNotMatch(json, /"type":"Buffer"/);
  });

  test('an empty body stays an empty Buffer; text that is not a flow is refused', () => {
    const flow = makeFlow({ requestBody: body('') });
    assert.deepStrictEqual(flowFromJson(flowToJson(flow)).request.body.captured, Buffer.alloc(0));
    assert.throws(() => flowFromJson('{"hello":1}'), TypeError);
    assert.throws(() => flowFromJson('not json'), SyntaxError);
  });
});

/** The drivers that load on this Node.js, and why each other one does not. */
async function loadDrivers(): Promise<Map<SqliteDriverName, string | true>> {
  const out = new Map<SqliteDriverName, string | true>();
  for (const d of SQLITE_DRIVERS) {
    try {
      (await openSqlite(':memory:', [d])).close();
      out.set(d, true);
    } catch (err) {
      out.set(d, (err as Error).message);
    }
  }
  return out;
}

const loaded = await loadDrivers();
const drivers = SQLITE_DRIVERS.filter((d) => loaded.get(d) === true);

/** Node.js 22.13 and later have node:sqlite (without a flag). */
function nodeHasSqlite(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 13);
}

/**
 * The drivers this run must test: EGRESSKIT_TEST_SQLITE_DRIVERS (comma-separated), else
 * better-sqlite3, which `npm ci` builds for the Node.js that runs `npm test`. node:sqlite only
 * exists from Node.js 22.13, so on the Node 20 of `npm test` it cannot run; `.ci/run` runs this
 * file again under Node 24 with EGRESSKIT_TEST_SQLITE_DRIVERS=node:sqlite. A required driver
 * that does not load fails its suite; one that loads always runs. Nothing here is a skip.
 */
const required: SqliteDriverName[] = (process.env.EGRESSKIT_TEST_SQLITE_DRIVERS ?? 'better-sqlite3')
  .split(',')
  .map((d) => d.trim())
  .filter(Boolean)
  .map((d) => {
    if (!(SQLITE_DRIVERS as readonly string[]).includes(d)) throw new Error(`EGRESSKIT_TEST_SQLITE_DRIVERS: unknown driver "${d}" (known: ${SQLITE_DRIVERS.join(', ')})`);
    return d as SqliteDriverName;
  });

test('at least one SQLite driver loads here (better-sqlite3 built, or Node.js >= 22.13)', () => {
  assert.ok(drivers.length > 0, `no SQLite driver loads on Node.js ${process.version}`);
});

test('with no driver that loads, openSqlite says how to get one', async () => {
  await assert.rejects(openSqlite(':memory:', []), (err: Error) => {
    assert.ok(err instanceof InspectSetupError);
    assert.match(err.message, /npm install better-sqlite3@12/);
    assert.match(err.message, /Node\.js 22\.13 or newer/);
    return true;
  });
});

for (const driver of SQLITE_DRIVERS.filter((d) => !drivers.includes(d) && !required.includes(d))) {
  test(`FlowDb (${driver}) is not run here: not required by EGRESSKIT_TEST_SQLITE_DRIVERS, and it does not load`, (t) => {
    // node:sqlite is only missing on a Node.js before 22.13; anywhere newer it must load (and then it runs).
    if (driver === 'node:sqlite') assert.ok(!nodeHasSqlite(), `node:sqlite should load on Node.js ${process.version}: ${String(loaded.get(driver))}`);
    t.diagnostic(`${driver}: ${String(loaded.get(driver))}`);
  });
}

for (const driver of SQLITE_DRIVERS.filter((d) => drivers.includes(d) || required.includes(d))) {
  describe(`FlowDb (${driver})`, () => {
    before(() => {
      if (loaded.get(driver) !== true) {
        throw new Error(`${driver} is required here (EGRESSKIT_TEST_SQLITE_DRIVERS=${required.join(',')}) but does not load: ${String(loaded.get(driver))}`);
      }
    });
    let dir: string;
    let n = 0;
    const fresh = () => join(dir, `flows-${++n}.db`);
    const open = (path: string, flushMs = 5) => FlowDb.open(path, { drivers: [driver], flushMs });
    /** The rows as they are on disk (the file must not be open: FlowDb holds it locked). */
    const rows = async (path: string) => {
      const db = await openSqlite(path, [driver]);
      try {
        return db.prepare('SELECT id, seq, bytes, json FROM flows ORDER BY seq').all().map((r) => ({ id: String(r.id), seq: Number(r.seq), bytes: Number(r.bytes), flow: flowFromJson(String(r.json)) }));
      } finally {
        db.close();
      }
    };

    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'egk-flowdb-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    test('a new file is created 0600 with WAL, the schema version, and an empty flows table', async () => {
      const path = fresh();
      const db = await open(path);
      assert.equal(db.driver, driver);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      const store = new FlowStore();
      assert.deepEqual(db.attach(store), { restored: 0, interrupted: 0, dropped: 0, unreadable: 0 });
      store.add(makeFlow());
      db.flush();
      // The write-ahead log holds the same captured bodies: it gets the database's mode.
      assert.equal(statSync(`${path}-wal`).mode & 0o777, 0o600);
      await db.close();
      const raw = await openSqlite(path, [driver]);
      assert.equal(raw.prepare('PRAGMA user_version').get()!.user_version, FLOW_DB_SCHEMA);
      assert.equal(raw.prepare('PRAGMA journal_mode').get()!.journal_mode, 'wal');
      raw.close();
    });

    test('an existing flows database looser than 0600 is tightened, its -wal file too', async () => {
      const path = fresh();
      await (await open(path)).close();
      const { chmodSync } = await import('node:fs');
      chmodSync(path, 0o644);
      const db = await open(path);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      // SQLite made the -wal file (0644, like the database then) before the database was tightened.
      assert.equal(statSync(`${path}-wal`).mode & 0o777, 0o600);
      await db.close();
    });

    test('add and updates coalesce into one row per flow, written after flushMs; order is age order', async () => {
      const path = fresh();
      const db = await open(path, 20);
      const store = new FlowStore();
      db.attach(store);
      const a = makeFlow({ status: null });
      a.state = 'open';
      const b = makeFlow();
      store.add(a);
      store.add(b);
      a.response = { status: 201, statusText: 'Created', httpVersion: '1.1', headers: [], body: body('made') };
      a.state = 'complete';
      store.update(a);
      await new Promise((r) => setTimeout(r, 80));
      await db.close();
      const got = await rows(path);
      assert.deepEqual(got.map((r) => r.id), [a.id, b.id]);
      assert.equal(got[0]!.flow.state, 'complete');
      assert.equal(got[0]!.flow.response!.status, 201);
      assert.equal(got[0]!.bytes, 4);
    });

    test('evicted flows and cleared stores are deleted from the file', async () => {
      const path = fresh();
      const db = await open(path);
      const store = new FlowStore({ maxFlows: 2 });
      db.attach(store);
      const flows = Array.from({ length: 4 }, () => makeFlow());
      for (const f of flows) store.add(f);
      db.flush();
      assert.equal(db.flush(), true);
      await db.close();
      assert.deepEqual((await rows(path)).map((r) => r.id), [flows[2]!.id, flows[3]!.id]);

      const db2 = await open(path);
      const store2 = new FlowStore({ maxFlows: 2 });
      db2.attach(store2);
      store2.clear();
      const after = makeFlow();
      store2.add(after);
      await db2.close();
      assert.deepEqual((await rows(path)).map((r) => r.id), [after.id]);
    });

    test('a flow deleted from the store (the UI\'s delete) is deleted from the file, before and after it was written', async () => {
      const path = fresh();
      const db = await open(path);
      const store = new FlowStore();
      db.attach(store);
      const [a, b, c] = [makeFlow(), makeFlow(), makeFlow()];
      store.add(a);
      store.add(b);
      db.flush();
      store.add(c);
      store.delete(a.id);
      store.delete(c.id);
      await db.close();
      assert.deepEqual((await rows(path)).map((r) => r.id), [b.id]);
    });

    test('a restart restores the flows exactly, oldest first, without re-announcing them', async () => {
      const path = fresh();
      const db = await open(path);
      const store = new FlowStore();
      db.attach(store);
      const flows = [makeFlow({ host: 'one.example' }), richFlow(), makeFlow({ host: 'three.example', responseBody: body(ALL_BYTES) })];
      for (const f of flows) store.add(f);
      await db.close();

      const db2 = await open(path);
      const store2 = new FlowStore();
      const events: string[] = [];
      store2.on('flow', (e: { type: string }) => events.push(e.type));
      assert.deepEqual(db2.attach(store2), { restored: 3, interrupted: 0, dropped: 0, unreadable: 0 });
      assert.deepEqual(events, []);
      assert.deepStrictEqual(store2.list().reverse(), flows);
      // New flows go after the restored ones, on disk too.
      const next = makeFlow({ host: 'four.example' });
      store2.add(next);
      await db2.close();
      assert.deepEqual((await rows(path)).map((r) => r.flow.host), ['one.example', 'api.example.com', 'three.example', 'four.example']);
    });

    test('a restart keeps the newest flows within the store bounds (count and bytes) and deletes the rest', async () => {
      const path = fresh();
      const db = await open(path);
      const store = new FlowStore();
      db.attach(store);
      const flows = Array.from({ length: 6 }, (_, i) => makeFlow({ host: `h${i}.example`, responseBody: body(Buffer.alloc(30)) }));
      for (const f of flows) store.add(f);
      await db.close();

      const byCount = await open(path);
      const small = new FlowStore({ maxFlows: 4 });
      assert.deepEqual(byCount.attach(small), { restored: 4, interrupted: 0, dropped: 2, unreadable: 0 });
      assert.deepEqual(small.list().map((f) => f.host), ['h5.example', 'h4.example', 'h3.example', 'h2.example']);
      await byCount.close();

      const byBytes = await open(path);
      const tight = new FlowStore({ maxBytes: 70 });
      assert.deepEqual(byBytes.attach(tight), { restored: 2, interrupted: 0, dropped: 2, unreadable: 0 });
      assert.equal(tight.bytes, 60);
      await byBytes.close();
      assert.deepEqual((await rows(path)).map((r) => r.flow.host), ['h4.example', 'h5.example']);
    });

    test('flows that were open when the process stopped come back as interrupted errors, on disk too', async () => {
      const path = fresh();
      const db = await open(path);
      const store = new FlowStore();
      db.attach(store);
      const open1 = makeFlow({ status: null });
      open1.state = 'open';
      const done = makeFlow();
      store.add(open1);
      store.add(done);
      await db.close();

      const db2 = await open(path);
      const store2 = new FlowStore();
      assert.deepEqual(db2.attach(store2), { restored: 2, interrupted: 1, dropped: 0, unreadable: 0 });
      assert.equal(store2.get(open1.id)!.state, 'error');
      assert.deepEqual(store2.get(open1.id)!.error, INTERRUPTED);
      assert.equal(store2.get(done.id)!.state, 'complete');
      await db2.close();
      const onDisk = (await rows(path)).find((r) => r.id === open1.id)!;
      assert.equal(onDisk.flow.state, 'error');
      assert.equal(onDisk.flow.error!.code, 'interrupted');
    });

    test('a row that no longer parses is skipped and deleted', async () => {
      const path = fresh();
      const db = await open(path);
      const store = new FlowStore();
      db.attach(store);
      const good = makeFlow();
      store.add(good);
      await db.close();
      const raw = await openSqlite(path, [driver]);
      raw.prepare('INSERT INTO flows (id, seq, started_at, bytes, json) VALUES (?, ?, ?, ?, ?)').run('broken', 99, '', 0, '{oops');
      raw.close();
      const db2 = await open(path);
      assert.deepEqual(db2.attach(new FlowStore()), { restored: 1, interrupted: 0, dropped: 0, unreadable: 1 });
      await db2.close();
      assert.deepEqual((await rows(path)).map((r) => r.id), [good.id]);
    });

    test('a failed write is reported once and retried; the flows stay pending', async () => {
      const path = fresh();
      const errors: Error[] = [];
      const db = await FlowDb.open(path, { drivers: [driver], flushMs: 5, onWriteError: (e) => errors.push(e) });
      const store = new FlowStore();
      db.attach(store);
      // A flow whose JSON cannot be built stands in for a disk that is full.
      const bad = makeFlow();
      (bad as unknown as { startedAt: unknown }).startedAt = 10n;
      store.add(bad);
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(errors.length, 1);
      assert.throws(() => db.flush());
      store.clear();
      assert.equal(db.flush(), true);
      await db.close();
      assert.equal(errors.length, 1);
      assert.deepEqual(await rows(path), []);
    });

    describe('files it cannot use: exit-2 errors naming the path and the fix, and nothing changed', () => {
      const refuses = async (path: string, reason: RegExp, fix: RegExp) => {
        await assert.rejects(open(path), (err: Error) => {
          assert.ok(err instanceof InspectSetupError, String(err));
          assert.ok(err.message.startsWith(`cannot use the flows database ${path} (--flows-db, inspect.flowsDb): `), err.message);
          assert.match(err.message, reason);
          assert.match(err.message, fix);
          assert.doesNotMatch(err.message, /\n/);
          return true;
        });
      };

      test('a directory', async () => {
        await refuses(dir, /it is a directory/, new RegExp(`--flows-db ${join(dir, 'flows.db')}`));
      });

      test('a directory that does not exist', async () => {
        const missing = join(dir, 'nope', 'flows.db');
        await refuses(missing, /does not exist \(ENOENT\)/, /mkdir -p/);
        assert.equal(existsSync(join(dir, 'nope')), false);
      });

      test('a path under a file', async () => {
        const file = join(dir, `plain-${++n}.txt`);
        writeFileSync(file, 'x');
        await refuses(join(file, 'flows.db'), /ENOTDIR/, /check the path/);
      });

      test('a place nobody may write (even root): /sys', async () => {
        await refuses('/sys/egresskit-flows.db', /\((EACCES|EROFS|EPERM)\)/, /writable/);
      });

      test('a file that is not a SQLite database is left as it was', async () => {
        const path = join(dir, `notes-${++n}.txt`);
        const text = 'these are my notes, not a database; they must survive a wrong --flows-db\n'.repeat(4);
        writeFileSync(path, text, { mode: 0o644 });
        await refuses(path, /not a SQLite database/, /give a path of its own/);
        assert.equal((await import('node:fs')).readFileSync(path, 'utf8'), text);
        assert.equal(statSync(path).mode & 0o777, 0o644);
      });

      test('a database from a newer egresskit', async () => {
        const path = fresh();
        const raw = await openSqlite(path, [driver]);
        raw.exec(`PRAGMA user_version = ${FLOW_DB_SCHEMA + 1}`);
        raw.close();
        await refuses(path, new RegExp(`newer egresskit \\(schema version ${FLOW_DB_SCHEMA + 1}; this one reads up to ${FLOW_DB_SCHEMA}\\)`), /upgrade egresskit/);
      });

      test("another program's SQLite database", async () => {
        const path = fresh();
        const raw = await openSqlite(path, [driver]);
        raw.exec('CREATE TABLE invoices (n INTEGER)');
        raw.close();
        await refuses(path, /database of something else \(tables: invoices\)/, /a file of its own/);
        const again = await openSqlite(path, [driver]);
        assert.deepEqual(again.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name), ['invoices']);
        again.close();
      });

      test('a file another egresskit has open (locked)', async () => {
        const path = fresh();
        const first = await open(path);
        try {
          await refuses(path, /another process holds it/, /its own --flows-db/);
        } finally {
          await first.close();
        }
        await (await open(path)).close();
      });
    });
  });
}
