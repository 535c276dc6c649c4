import { flowDbError, makePrivate, prepareDbFile, removeCreatedFile, sqliteOpenError } from './flow-db-file.js';
import { flowFromJson, flowToJson } from './flow-codec.js';
import { flowBytes, type FlowEvent, type FlowStore } from './flow-store.js';
import type { Flow } from './flow.js';
import { InspectSetupError } from '../model/setup-error.js';
import { openSqlite, sqliteErrorCode, type SqliteDb, type SqliteDriverName, type SqliteStatement } from './sqlite-driver.js';

/** PRAGMA user_version of the layout below; a file with a larger one came from a newer egresskit. */
export const FLOW_DB_SCHEMA = 1;

const SCHEMA_V1 = `
  CREATE TABLE flows (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,  -- age order: the store's insertion order
    started_at TEXT NOT NULL,
    bytes INTEGER NOT NULL,       -- flowBytes(), so restoring within maxBytes reads no JSON
    json TEXT NOT NULL            -- flowToJson()
  );
  PRAGMA user_version = ${FLOW_DB_SCHEMA};
`;

export const INTERRUPTED = { code: 'interrupted', message: 'the proxy stopped before this exchange finished' } as const;

/** JSON written per transaction before the rest waits for the next turn of the event loop. */
const FLUSH_BUDGET_CHARS = 1024 * 1024;
const RETRY_MS = 5000;

export interface FlowDbOptions {
  /**
   * How long a change waits before it is written: a flow changes several times per exchange
   * (and per WebSocket message), and these coalesce into one row write.
   */
  flushMs?: number;
  /** A batch could not be written (disk full...); it stays pending and is retried. Called once per run of failures. */
  onWriteError?: (err: Error) => void;
  /** Drivers to try, in order (tests pin one). */
  drivers?: readonly SqliteDriverName[];
}

export interface RestoreResult {
  restored: number;
  /** Flows that were open when the previous process stopped, now state 'error' (interrupted). */
  interrupted: number;
  /** Rows beyond the store's bounds, deleted. */
  dropped: number;
  /** Rows that no longer parse, deleted. */
  unreadable: number;
}

interface Statements {
  upsert: SqliteStatement;
  remove: SqliteStatement;
  removeAll: SqliteStatement;
}

/**
 * Keeps a FlowStore's flows in SQLite so they survive a restart. It observes the store
 * ('flow' add/update → upsert, 'evict' and 'delete' → delete, clear → delete all) and writes behind:
 * changes are coalesced per flow and written in one transaction every flushMs, and on close.
 */
export class FlowDb {
  readonly path: string;
  readonly driver: SqliteDriverName;
  readonly #db: SqliteDb;
  readonly #sql: Statements;
  readonly #flushMs: number;
  readonly #onWriteError: (err: Error) => void;
  #nextSeq: number;
  /** seq of every flow the store holds, so updates keep the row's place in age order. */
  readonly #seqs = new Map<string, number>();
  readonly #pending = new Map<string, Flow>();
  readonly #deletes = new Set<string>();
  #clearAll = false;
  #timer: NodeJS.Timeout | undefined;
  #failing = false;
  #detach: (() => void) | undefined;
  #closed = false;

  private constructor(path: string, db: SqliteDb, options: FlowDbOptions) {
    this.path = path;
    this.#db = db;
    this.driver = db.driver;
    this.#flushMs = options.flushMs ?? 250;
    this.#onWriteError = options.onWriteError ?? (() => undefined);
    this.#sql = {
      upsert: db.prepare(
        'INSERT INTO flows (id, seq, started_at, bytes, json) VALUES (?, ?, ?, ?, ?) ' +
          'ON CONFLICT(id) DO UPDATE SET started_at = excluded.started_at, bytes = excluded.bytes, json = excluded.json',
      ),
      remove: db.prepare('DELETE FROM flows WHERE id = ?'),
      removeAll: db.prepare('DELETE FROM flows'),
    };
    this.#nextSeq = Number(db.prepare('SELECT COALESCE(MAX(seq), 0) AS m FROM flows').get()!.m) + 1;
  }

  /** Opens or creates the database; every problem with the path or the file is an InspectSetupError naming both. */
  static async open(path: string, options: FlowDbOptions = {}): Promise<FlowDb> {
    const { created } = prepareDbFile(path);
    let db: SqliteDb | undefined;
    try {
      db = await openSqlite(path, options.drivers);
      setUp(db, path);
      makePrivate(path);
      return new FlowDb(path, db, options);
    } catch (err) {
      try {
        db?.close();
      } catch {
        // The open error below is the one to report.
      }
      if (created) removeCreatedFile(path);
      if (err instanceof InspectSetupError) throw err;
      throw sqliteOpenError(path, err);
    }
  }

  /**
   * Loads the newest flows that fit the store's bounds into it (in age order, without 'flow'
   * events), deletes older rows, then follows the store. Flows that were still open when the
   * last process stopped come back as errors: they will never finish.
   */
  attach(store: FlowStore): RestoreResult {
    if (this.#detach) throw new Error('FlowDb is already attached to a store');
    try {
      return this.#attach(store);
    } catch (err) {
      if (sqliteErrorCode(err) !== undefined) throw sqliteOpenError(this.path, err);
      throw err;
    }
  }

  #attach(store: FlowStore): RestoreResult {
    const rows = this.#db.prepare('SELECT seq, bytes FROM flows ORDER BY seq DESC LIMIT ?').all(store.maxFlows);
    const keep: number[] = [];
    let bytes = 0;
    // The store keeps the newest flows that fit, and drops everything older than the first that does not.
    for (const row of rows) {
      bytes += Number(row.bytes);
      if (bytes > store.maxBytes) break;
      keep.unshift(Number(row.seq));
    }
    const total = Number(this.#db.prepare('SELECT COUNT(*) AS n FROM flows').get()!.n);
    this.#db.prepare('DELETE FROM flows WHERE seq < ?').run(keep[0] ?? this.#nextSeq);
    const read = this.#db.prepare('SELECT json FROM flows WHERE seq = ?');
    const flows: Flow[] = [];
    const result: RestoreResult = { restored: 0, interrupted: 0, dropped: total - keep.length, unreadable: 0 };
    for (const seq of keep) {
      let flow: Flow;
      try {
        flow = flowFromJson(String(read.get(seq)!.json));
      } catch {
        this.#db.prepare('DELETE FROM flows WHERE seq = ?').run(seq);
        result.unreadable++;
        continue;
      }
      if (flow.state === 'open') {
        flow.state = 'error';
        flow.error = { ...INTERRUPTED };
        this.#pending.set(flow.id, flow);
        result.interrupted++;
      }
      this.#seqs.set(flow.id, seq);
      flows.push(flow);
    }
    const onFlow = (e: FlowEvent) => {
      if (e.type === 'clear') this.#clear();
      else if (e.type === 'delete') this.#removed(e.flow!.id);
      else this.#changed(e.flow!);
    };
    const onEvict = (flow: Flow) => this.#removed(flow.id);
    store.on('flow', onFlow);
    store.on('evict', onEvict);
    this.#detach = () => {
      store.off('flow', onFlow);
      store.off('evict', onEvict);
    };
    store.restore(flows);
    result.restored = store.size;
    // The interrupted flows' new state, written at once rather than after flushMs.
    if (this.#pending.size > 0) this.#schedule(0);
    return result;
  }

  #changed(flow: Flow): void {
    if (!this.#seqs.has(flow.id)) this.#seqs.set(flow.id, this.#nextSeq++);
    this.#pending.set(flow.id, flow);
    this.#deletes.delete(flow.id);
    this.#schedule(this.#flushMs);
  }

  #removed(id: string): void {
    this.#pending.delete(id);
    if (!this.#seqs.delete(id)) return;
    this.#deletes.add(id);
    this.#schedule(this.#flushMs);
  }

  #clear(): void {
    this.#pending.clear();
    this.#deletes.clear();
    this.#seqs.clear();
    this.#clearAll = true;
    this.#schedule(this.#flushMs);
  }

  #schedule(delayMs: number): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      try {
        if (!this.flush(FLUSH_BUDGET_CHARS)) this.#schedule(0);
        this.#failing = false;
      } catch (err) {
        if (!this.#failing) this.#onWriteError(err as Error);
        this.#failing = true;
        this.#schedule(RETRY_MS);
      }
    }, delayMs);
    // Never what keeps the process alive: close() flushes.
    this.#timer.unref();
  }

  /**
   * Writes pending changes in one transaction, up to about budgetChars of JSON; returns true
   * when nothing is left. On error nothing is written, everything stays pending, and it throws.
   */
  flush(budgetChars = Infinity): boolean {
    if (!this.#clearAll && this.#deletes.size === 0 && this.#pending.size === 0) return true;
    const written: string[] = [];
    let chars = 0;
    this.#db.exec('BEGIN');
    try {
      if (this.#clearAll) this.#sql.removeAll.run();
      for (const id of this.#deletes) this.#sql.remove.run(id);
      for (const [id, flow] of this.#pending) {
        if (chars >= budgetChars) break;
        const json = flowToJson(flow);
        chars += json.length;
        this.#sql.upsert.run(id, this.#seqs.get(id)!, flow.startedAt, flowBytes(flow), json);
        written.push(id);
      }
      this.#db.exec('COMMIT');
    } catch (err) {
      try {
        this.#db.exec('ROLLBACK');
      } catch {
        // SQLite may have rolled back already (e.g. SQLITE_FULL); the original error matters.
      }
      throw err;
    }
    this.#clearAll = false;
    this.#deletes.clear();
    for (const id of written) this.#pending.delete(id);
    return this.#pending.size === 0;
  }

  /** Stops following the store, writes what is pending and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#detach?.();
    try {
      this.flush();
    } catch (err) {
      this.#onWriteError(err as Error);
    } finally {
      this.#db.close();
    }
  }
}

function setUp(db: SqliteDb, path: string): void {
  // One egresskit per file: two would delete each other's evicted rows. The exclusive lock is
  // taken by the empty write transaction below and held until close (and with WAL it needs no
  // -shm file). A previous process still closing the file gets two seconds to let go.
  db.exec('PRAGMA locking_mode = EXCLUSIVE');
  db.exec('PRAGMA busy_timeout = 2000');
  // WAL: a write appends to the log instead of rewriting pages; NORMAL sync is safe against
  // corruption in WAL mode and can only lose the last transactions on power loss.
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec('BEGIN EXCLUSIVE; COMMIT');
  const version = Number(db.prepare('PRAGMA user_version').get()!.user_version);
  if (version > FLOW_DB_SCHEMA) {
    throw flowDbError(
      path,
      `it was written by a newer egresskit (schema version ${version}; this one reads up to ${FLOW_DB_SCHEMA})`,
      'upgrade egresskit, or give another --flows-db path',
    );
  }
  if (version === FLOW_DB_SCHEMA) return;
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all().map((r) => String(r.name));
  if (tables.length > 0) {
    throw flowDbError(path, `it is a SQLite database of something else (tables: ${tables.join(', ')})`, 'give egresskit a file of its own, e.g. flows.db beside it');
  }
  db.exec(`BEGIN; ${SCHEMA_V1} COMMIT;`);
}
