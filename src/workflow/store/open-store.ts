import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { dataDirOf } from '../defaults.ts';
import { migrationProvider } from './migrations.ts';

export { dataDirOf };
import type { Database } from './schema.ts';

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

export type Dialect = 'sqlite' | 'postgres';

/** A transaction's handle: queries made through it run inside the transaction. */
export type Tx = Kysely<Database>;

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  /** The database file, or the PostgreSQL URL without its password. */
  location: string;
  /** PostgreSQL only: the URL as given (password included), for a connection of its own outside the pool (LISTEN). */
  url?: string;
  /**
   * Runs `fn` in one write transaction: all of it commits or none of it. On SQLite it is BEGIN IMMEDIATE (the
   * write lock is taken at the start, so two processes never both read, then both try to write); on PostgreSQL
   * rows are locked where they are read (FOR UPDATE). Do not nest.
   */
  write<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** Data directory of the embedded store (default: LETHE_HOME, else ./.lethe). */
  dataDir?: string;
  /** A postgres:// URL (default: LETHE_DB); when set, PostgreSQL is used instead of the embedded SQLite file. */
  url?: string;
  /** How long a writer waits for another's lock before failing (ms). */
  busyTimeoutMs?: number;
}

/**
 * How long a PostgreSQL session may sit inside a transaction without sending anything before the server ends it. A
 * Lethe transaction sends its queries back to back; one that waits this long belongs to a worker that is paused or
 * cut off, and it holds row locks (its job: no other worker can take it over) and maybe the audit log's lock (no
 * transition of any request can commit) until it ends — without this, until TCP notices the peer is gone (hours).
 * An `idle_in_transaction_session_timeout` in the URL takes precedence.
 */
const IDLE_IN_TRANSACTION_MS = 30_000;

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/** Turns the driver's messages about a file into one line that says what to do. */
function sqliteProblem(path: string, e: unknown): StoreError {
  const code = (e as { code?: string }).code ?? '';
  const message = e instanceof Error ? e.message : String(e);
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') return new StoreError(`${path}: not a Lethe database, or corrupt (${message}); restore it from a backup or point --data-dir elsewhere`);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return new StoreError(`${path}: the database is locked by another process (${message}); try again when it is done`);
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY') return new StoreError(`${path}: cannot open the database for writing (${message})`);
  return new StoreError(`${path}: ${message}`);
}

/**
 * Applies the pending migrations. On PostgreSQL the migrations' own bookkeeping tables are named with the schema the
 * store lives in (the first of the search path that exists): unqualified, Kysely would find another schema's
 * bookkeeping (say a second Lethe store in `public` of the same database), skip creating its own, and fail.
 */
async function migrate(db: Kysely<Database>, location: string, schema?: string): Promise<void> {
  const { error, results } = await new Migrator({ db, provider: migrationProvider, ...(schema ? { migrationTableSchema: schema } : {}) }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    const message = error instanceof Error ? error.message : String(error);
    throw new StoreError(`${location}: ${failed ? `migration ${failed} failed` : 'cannot migrate the store'}: ${message}`);
  }
}

function openSqlite(dataDir: string, busyTimeoutMs: number): { db: Kysely<Database>; path: string } {
  if (existsSync(dataDir) === false) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, 'lethe.db');
  let file: BetterSqlite3.Database;
  try {
    file = new BetterSqlite3(path, { timeout: busyTimeoutMs });
    // A file that is not a database only fails on first read; read now so the error names the file.
    const mode = file.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new StoreError(`${path}: cannot switch the database to WAL mode (got ${String(mode)})`);
    file.pragma('synchronous = FULL');
    file.pragma('foreign_keys = ON');
  } catch (e) {
    throw e instanceof StoreError ? e : sqliteProblem(path, e);
  }
  try {
    chmodSync(path, 0o600); // request rows hold personal data
  } catch {
    // not ours to change (e.g. a read-only mount); opening worked, so go on
  }
  return { db: new Kysely<Database>({ dialect: new SqliteDialect({ database: file }) }), path };
}

/** Opens (creating and migrating as needed) the workflow store. */
export async function openStore(o: StoreOptions = {}): Promise<Store> {
  const url = o.url ?? process.env['LETHE_DB'];
  const busyTimeoutMs = o.busyTimeoutMs ?? 5000;
  if (url) {
    if (!/^postgres(ql)?:\/\//.test(url)) throw new StoreError(`--db ${redactUrl(url)}: expected a postgres:// URL`);
    const pool = new pg.Pool({ connectionString: url, max: 4, idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS });
    // A connection the server ends (a restart, a failover, pg_terminate_backend, the timeout above) emits 'error', and
    // an unhandled 'error' ends the process: every worker and server would die with the database's restart. The
    // pool drops such a connection; a transaction that was using it fails at its next query; the next query opens
    // a new connection.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const location = redactUrl(url);
    try {
      const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
      const schema = rows[0]?.schema;
      if (!schema) throw new StoreError(`${location}: no schema to keep the store in (none of the search_path exists); create it or fix the search_path`);
      await migrate(db, location, schema);
    } catch (e) {
      await db.destroy();
      throw e instanceof StoreError ? e : new StoreError(`${location}: ${(e as Error).message}`);
    }
    return {
      db, dialect: 'postgres', location, url,
      write: (fn) => db.transaction().execute(fn),
      close: () => db.destroy(),
    };
  }
  const { db, path } = openSqlite(dataDirOf(o), busyTimeoutMs);
  const write = <T>(fn: (tx: Tx) => Promise<T>): Promise<T> => db.connection().execute(async (conn) => {
    try {
      await sql`begin immediate`.execute(conn);
    } catch (e) {
      throw sqliteProblem(path, e);
    }
    try {
      const result = await fn(conn);
      await sql`commit`.execute(conn);
      return result;
    } catch (e) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      const code = (e as { code?: string }).code ?? '';
      throw code.startsWith('SQLITE_') ? sqliteProblem(path, e) : e;
    }
  });
  try {
    await migrate(db, path);
  } catch (e) {
    await db.destroy();
    throw e instanceof StoreError ? e : sqliteProblem(path, e);
  }
  return { db, dialect: 'sqlite', location: path, write, close: () => db.destroy() };
}
