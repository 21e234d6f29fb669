/**
 * Lets Kysely's SQLite dialect run on node:sqlite (Kysely ships one for better-sqlite3's API).
 * Prepared statements are cached: SQLite compiles each statement once per connection instead of per query.
 * With worker threads, writes take `lock` first (thread-write-lock.ts), after waiting, without
 * blocking the event loop, for any other thread's write to end (`nodeSqliteDialect`).
 * `onCommit` hears of every statement that ended a write outside a transaction (an autocommitted
 * write, or a commit), so that wal-durability.ts knows when the log needs syncing.
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { SqliteDialect, SqliteDriver, type CompiledQuery, type DatabaseConnection, type Driver, type SqliteDatabase, type SqliteStatement } from 'kysely';
import type { ThreadWriteLock } from './thread-write-lock.ts';

const STATEMENT_CACHE_SIZE = 500;

function toSqliteValue(value: unknown): SQLInputValue {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === undefined) return null;
  return value as SQLInputValue;
}

/** Statements that cannot write (anything else may: inserts with `returning` read too). */
const READ_ONLY = /^\s*select\b/i;

/**
 * How a statement deals with the threads' write lock: `begin` takes it for the transaction, `end`
 * (commit, rollback) lets go, `write` holds it for itself when outside a transaction.
 */
type LockRole = 'begin' | 'end' | 'write' | undefined;

/** Whether running `sql` now would take the threads' lock (a begin, or a write outside a transaction). */
const takesLock = (database: DatabaseSync, sql: string) => {
  const role = lockRoleOf(sql === 'begin' ? 'begin immediate' : sql);
  return role === 'begin' || (role === 'write' && !database.isTransaction);
};

function lockRoleOf(sql: string): LockRole {
  if (sql === 'begin immediate') return 'begin';
  if (sql === 'commit' || sql === 'rollback') return 'end';
  return READ_ONLY.test(sql) ? undefined : 'write';
}

class CachedStatement implements SqliteStatement {
  readonly reader: boolean;
  readonly #statement: StatementSync;
  /** Called after the statement ran when it may have committed a write. */
  readonly #afterWrite: (() => void) | undefined;
  readonly #database: DatabaseSync;
  readonly #lock: ThreadWriteLock | undefined;
  readonly #lockRole: LockRole;

  constructor(database: DatabaseSync, statement: StatementSync, sql: string, afterWrite: (() => void) | undefined, lock: ThreadWriteLock | undefined) {
    this.#database = database;
    this.#statement = statement;
    this.reader = statement.columns().length > 0;
    this.#afterWrite = READ_ONLY.test(sql) ? undefined : afterWrite;
    this.#lock = lock;
    this.#lockRole = lock ? lockRoleOf(sql) : undefined;
  }

  all(parameters: ReadonlyArray<unknown>): unknown[] {
    return this.#locked(() => {
      const rows = this.#statement.all(...parameters.map(toSqliteValue));
      this.#afterWrite?.();
      return rows;
    });
  }

  run(parameters: ReadonlyArray<unknown>) {
    return this.#locked(() => {
      const { changes, lastInsertRowid } = this.#statement.run(...parameters.map(toSqliteValue));
      this.#afterWrite?.();
      return { changes, lastInsertRowid };
    });
  }

  /** Runs the statement under the threads' write lock as its role says (see LockRole). */
  #locked<R>(execute: () => R): R {
    const role = this.#lockRole;
    if (role === undefined || (role === 'write' && this.#database.isTransaction)) return execute();
    const lock = this.#lock!;
    if (role !== 'end') lock.acquire();
    let ok = false;
    try {
      const result = execute();
      ok = true;
      return result;
    } finally {
      // A transaction keeps the lock until its commit or rollback; a failed begin never had SQLite's.
      if (role !== 'begin' || !ok) lock.release();
    }
  }

  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    return this.#statement.iterate(...parameters.map(toSqliteValue));
  }
}

export function kyselySqliteDatabase(database: DatabaseSync, onCommit?: () => void, lock?: ThreadWriteLock): SqliteDatabase {
  const cache = new Map<string, CachedStatement>();
  const afterWrite = onCommit && (() => {
    if (!database.isTransaction) onCommit();
  });
  return {
    close: () => database.close(),
    prepare(text: string): SqliteStatement {
      // A deferred transaction that reads and then writes fails at once ("database is locked") when
      // another process (the CLI beside the server) wrote in between; an immediate one waits its turn
      // (busy_timeout) instead. Within one process Kysely already runs transactions one at a time.
      const sql = text === 'begin' ? 'begin immediate' : text;
      let statement = cache.get(sql);
      if (statement) {
        // Refresh its place in the least-recently-used order.
        cache.delete(sql);
      } else {
        statement = new CachedStatement(database, database.prepare(sql), sql, afterWrite, lock);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, statement);
      return statement;
    },
  };
}

/**
 * Kysely's SQLite dialect over node:sqlite. With worker threads, a statement that would take the
 * threads' lock first waits for its turn asynchronously: the lock itself is taken synchronously
 * (node:sqlite is), which would otherwise hold this thread's event loop while another thread writes.
 */
export function nodeSqliteDialect(database: DatabaseSync, onCommit?: () => void, lock?: ThreadWriteLock): SqliteDialect {
  const config = { database: kyselySqliteDatabase(database, onCommit, lock) };
  if (!lock) return new SqliteDialect(config);
  return new (class extends SqliteDialect {
    override createDriver(): Driver {
      return new TurnTakingDriver(config, (sql) => takesLock(database, sql), () => lock.free());
    }
  })(config);
}

class TurnTakingDriver extends SqliteDriver {
  readonly #needsTurn: (sql: string) => boolean;
  readonly #turn: () => Promise<void>;
  #connection: DatabaseConnection | undefined;

  constructor(config: { database: SqliteDatabase }, needsTurn: (sql: string) => boolean, turn: () => Promise<void>) {
    super(config);
    this.#needsTurn = needsTurn;
    this.#turn = turn;
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const inner = await super.acquireConnection();
    this.#connection ??= {
      executeQuery: async <R>(query: CompiledQuery) => {
        if (this.#needsTurn(query.sql)) await this.#turn();
        return inner.executeQuery<R>(query);
      },
      streamQuery: (query, chunkSize) => inner.streamQuery(query, chunkSize),
    };
    return this.#connection;
  }
}
