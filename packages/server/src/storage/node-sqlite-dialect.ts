/**
 * Lets Kysely's SQLite dialect run on node:sqlite (Kysely ships one for better-sqlite3's API).
 * Prepared statements are cached: SQLite compiles each statement once per connection instead of per query.
 * `onCommit` hears of every statement that ended a write outside a transaction (an autocommitted
 * write, or a commit), so that wal-durability.ts knows when the log needs syncing.
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

const STATEMENT_CACHE_SIZE = 500;

function toSqliteValue(value: unknown): SQLInputValue {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === undefined) return null;
  return value as SQLInputValue;
}

/** Statements that cannot write (anything else may: inserts with `returning` read too). */
const READ_ONLY = /^\s*select\b/i;

class CachedStatement implements SqliteStatement {
  readonly reader: boolean;
  readonly #statement: StatementSync;
  /** Called after the statement ran when it may have committed a write. */
  readonly #afterWrite: (() => void) | undefined;

  constructor(statement: StatementSync, sql: string, afterWrite: (() => void) | undefined) {
    this.#statement = statement;
    this.reader = statement.columns().length > 0;
    this.#afterWrite = READ_ONLY.test(sql) ? undefined : afterWrite;
  }

  all(parameters: ReadonlyArray<unknown>): unknown[] {
    const rows = this.#statement.all(...parameters.map(toSqliteValue));
    this.#afterWrite?.();
    return rows;
  }

  run(parameters: ReadonlyArray<unknown>) {
    const { changes, lastInsertRowid } = this.#statement.run(...parameters.map(toSqliteValue));
    this.#afterWrite?.();
    return { changes, lastInsertRowid };
  }

  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    return this.#statement.iterate(...parameters.map(toSqliteValue));
  }
}

export function kyselySqliteDatabase(database: DatabaseSync, onCommit?: () => void): SqliteDatabase {
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
        statement = new CachedStatement(database.prepare(sql), sql, afterWrite);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, statement);
      return statement;
    },
  };
}
