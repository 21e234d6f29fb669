/**
 * Opens the configured database (embedded SQLite or PostgreSQL) behind one Kysely instance,
 * and applies the numbered migrations.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import { beginLockedBatch, type LockedTransaction } from './postgres-batch.ts';
import { Migrator, type MigrationProvider } from 'kysely/migration';
import pg from 'pg';
import type { Config } from '../config/config.ts';
import { migrations } from './migrations/index.ts';
import { nodeSqliteDialect } from './node-sqlite-dialect.ts';
import { WalCheckpointer } from './wal-checkpointer.ts';
import { WalDurability } from './wal-durability.ts';
import { ThreadWriteLock } from './thread-write-lock.ts';
import type { Database } from './schema.ts';

export type Engine = 'sqlite' | 'postgres';

export interface OpenDatabase {
  db: Kysely<Database>;
  engine: Engine;
  /** Resolves once every commit so far would survive a power loss (see wal-durability.ts; at once on PostgreSQL). */
  durable(): Promise<void>;
  /** Whether a commit is still waiting for `durable`. */
  readonly commitsPending: boolean;
  /** Resolves when another thread of this server is not writing (SQLite with worker threads; at once otherwise). */
  writeTurn(): Promise<void>;
  /** PostgreSQL: a batch transaction begun with its locks taken (and `alsoRead` answered) in one round trip (postgres-batch.ts). */
  beginLockedBatch?(alsoRead?: readonly CompiledQuery[]): Promise<LockedTransaction>;
  close(): Promise<void>;
}

// PostgreSQL returns BIGINT as a string; all our BIGINTs (times in ms, stream positions) fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number.parseInt(value, 10));

function openSqlite(path: string, options: OpenOptions): OpenDatabase {
  mkdirSync(dirname(path), { recursive: true });
  const sqlite = new DatabaseSync(path);
  // WAL lets readers run beside the writer. synchronous=NORMAL: a commit survives a killed process
  // at once and a power loss after `durable()`, which fsyncs the log off the event loop
  // (wal-durability.ts) before anything is acknowledged. secure_delete overwrites deleted content (retention, disposal).
  // auto_vacuum takes effect only in a new database file: then the purge job can hand freed pages
  // back to the file system a few at a time (incremental_vacuum) instead of a blocking VACUUM.
  // busy_timeout first: the other pragmas may have to wait for a process (CLI or server) holding a lock.
  sqlite.exec(`
    PRAGMA busy_timeout = 5000;
    PRAGMA auto_vacuum = INCREMENTAL;
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    PRAGMA foreign_keys = ON;
    PRAGMA secure_delete = ON;
  `);
  // synchronous=NORMAL is durable only with the log synced by WalDurability: a file system that
  // cannot hold a write-ahead log (some network mounts) must stop the start, not weaken it.
  const { journal_mode: mode } = sqlite.prepare('PRAGMA journal_mode').get() as { journal_mode: string };
  if (mode !== 'wal') {
    sqlite.close();
    throw new Error(`SQLite could not use a write-ahead log for ${path} (journal mode "${mode}"); put the data folder on a local file system`);
  }
  const wal = new WalDurability(path, options.threadDurability);
  // Checkpoints run on their own thread (wal-checkpointer.ts), not inside the server's commits.
  let checkpointer: WalCheckpointer | undefined;
  if (options.checkpointInBackground || options.checkpointElsewhere) sqlite.exec('PRAGMA wal_autocheckpoint = 0');
  if (options.checkpointInBackground) checkpointer = new WalCheckpointer(path);
  const lock = options.threadWriteLock ? new ThreadWriteLock(options.threadWriteLock) : undefined;
  const db = new Kysely<Database>({ dialect: nodeSqliteDialect(sqlite, () => wal.noteCommit(), lock) });
  return {
    db,
    engine: 'sqlite',
    writeTurn: () => lock?.free() ?? Promise.resolve(),
    durable: () => wal.flush(),
    get commitsPending() {
      return wal.pending;
    },
    close: async () => {
      await checkpointer?.close();
      // What was committed reaches the disk before the connection goes.
      await wal.flush().catch(() => {});
      await db.destroy();
      await wal.close();
    },
  };
}

function openPostgres(url: string): OpenDatabase {
  const pool = new pg.Pool({ connectionString: url, max: 20 });
  // An idle client that loses its connection must not crash the server; the pool replaces it.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  // PostgreSQL answers a commit once it is durable (its own synchronous_commit).
  return {
    db,
    engine: 'postgres',
    durable: () => Promise.resolve(),
    commitsPending: false,
    writeTurn: () => Promise.resolve(),
    beginLockedBatch: (alsoRead) => beginLockedBatch(pool, alsoRead),
    close: () => db.destroy(),
  };
}

export interface OpenOptions {
  /** SQLite: checkpoint the log on a worker thread (the server) rather than inside commits (short-lived tools). */
  checkpointInBackground?: boolean;
  /** SQLite: another thread of this server checkpoints the log (a worker thread's connection never does). */
  checkpointElsewhere?: boolean;
  /** SQLite with worker threads: the 4 bytes of their shared write lock (thread-write-lock.ts). */
  threadWriteLock?: SharedArrayBuffer | undefined;
  /** SQLite with worker threads: their shared commit counts (wal-durability.ts). */
  threadDurability?: SharedArrayBuffer | undefined;
}

export function openDatabase(database: Config['database'], options: OpenOptions = {}): OpenDatabase {
  return database.kind === 'sqlite' ? openSqlite(database.path, options) : openPostgres(database.url);
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Applies pending migrations; several processes starting at once are serialised by Kysely's migration lock. */
export async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration ${failed ? `${failed.migrationName} ` : ''}failed: ${(error as Error | undefined)?.message ?? 'unknown error'}`);
  }
}
