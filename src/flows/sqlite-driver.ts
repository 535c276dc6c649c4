import { InspectSetupError } from '../model/setup-error.js';

/**
 * The part of SQLite the flows database uses, which better-sqlite3 and Node's node:sqlite
 * both offer with the same shape: exec, prepare().run/get/all with positional `?` parameters,
 * close. Rows come back as plain objects (node:sqlite's have a null prototype).
 */
export type SqliteValue = string | number | bigint | null | Uint8Array;
export type SqliteRow = Record<string, unknown>;

export interface SqliteStatement {
  run(...params: SqliteValue[]): unknown;
  get(...params: SqliteValue[]): SqliteRow | undefined;
  all(...params: SqliteValue[]): SqliteRow[];
}

export interface SqliteDb {
  readonly driver: SqliteDriverName;
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  close(): void;
}

export type SqliteDriverName = 'better-sqlite3' | 'node:sqlite';
export const SQLITE_DRIVERS: readonly SqliteDriverName[] = ['better-sqlite3', 'node:sqlite'];

type Open = (path: string) => SqliteDb;

/**
 * A constructor, or why there is none. better-sqlite3 loads its native addon on the first
 * `new Database()`, not on import, so an installed-but-unbuilt package (`npm ci --ignore-scripts`,
 * as in the container image) or one built for another Node.js only fails there: an in-memory
 * database proves the addon loads before the real file is touched.
 */
async function loadDriver(name: SqliteDriverName): Promise<Open | string> {
  // A specifier in a variable: neither package needs type declarations, and TypeScript does not
  // try to resolve an optional dependency that may be absent.
  const specifier: string = name;
  let mod: { default?: unknown; DatabaseSync?: unknown };
  try {
    mod = (await import(specifier)) as typeof mod;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
  // node:sqlite prints "ExperimentalWarning: SQLite is an experimental feature" to stderr once per
  // process when it loads (Node 22 and 24). It is left alone: silencing it would mean touching
  // process-wide warning handling, and the JSON log on stdout is not affected.
  const Ctor = (name === 'better-sqlite3' ? mod.default : mod.DatabaseSync) as new (path: string) => Omit<SqliteDb, 'driver'>;
  if (typeof Ctor !== 'function') return 'the module has no database class';
  try {
    new Ctor(':memory:').close();
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
  return (path) => {
    const db = new Ctor(path);
    return {
      driver: name,
      exec: (sql) => void db.exec(sql),
      prepare: (sql) => db.prepare(sql),
      close: () => db.close(),
    };
  };
}

const loaded = new Map<SqliteDriverName, Promise<Open | string>>();

/**
 * Opens (creating if needed) a SQLite database with the first driver that loads: better-sqlite3
 * (an optional dependency, so installs without a compiler still work), else node:sqlite (built
 * into Node.js 22.13 and later). Drivers load only here, so the proxy without --flows-db never
 * pays for them. Errors from SQLite itself (not a database, locked...) propagate as they are;
 * read them with sqliteErrorCode().
 */
export async function openSqlite(path: string, drivers: readonly SqliteDriverName[] = SQLITE_DRIVERS): Promise<SqliteDb> {
  const reasons: string[] = [];
  for (const name of drivers) {
    let attempt = loaded.get(name);
    if (!attempt) loaded.set(name, (attempt = loadDriver(name)));
    const open = await attempt;
    if (typeof open === 'function') return open(path);
    reasons.push(`${name}: ${open}`);
  }
  throw new InspectSetupError(
    `--flows-db needs SQLite, and no driver loads on Node.js ${process.version} (${reasons.join('; ')}): ` +
      'install the optional dependency (npm install better-sqlite3@12, which needs a C++ compiler) or run on Node.js 22.13 or newer (node:sqlite)',
  );
}

// SQLite's primary result codes (https://sqlite.org/rescode.html) for the errors the flows
// database explains; node:sqlite reports the number, better-sqlite3 the name.
const RESULT_CODES: Record<number, string> = {
  3: 'SQLITE_PERM',
  5: 'SQLITE_BUSY',
  6: 'SQLITE_LOCKED',
  8: 'SQLITE_READONLY',
  10: 'SQLITE_IOERR',
  11: 'SQLITE_CORRUPT',
  13: 'SQLITE_FULL',
  14: 'SQLITE_CANTOPEN',
  26: 'SQLITE_NOTADB',
};

/** The primary SQLite result code name (SQLITE_BUSY, SQLITE_NOTADB...) of a driver error, if it is one. */
export function sqliteErrorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; errcode?: unknown };
  if (typeof e.errcode === 'number') return RESULT_CODES[e.errcode & 0xff] ?? `SQLITE_ERROR_${e.errcode}`;
  if (typeof e.code === 'string' && e.code.startsWith('SQLITE_')) {
    // better-sqlite3 names extended codes (SQLITE_IOERR_WRITE); the primary name is the prefix.
    const primary = Object.values(RESULT_CODES).find((c) => e.code === c || (e.code as string).startsWith(`${c}_`));
    return primary ?? e.code;
  }
  return undefined;
}
