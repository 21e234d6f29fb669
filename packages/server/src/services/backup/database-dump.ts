/**
 * Dumping and restoring the database, one consistent snapshot while the server keeps writing.
 * SQLite: the SQLite online backup API copies every page in one step, i.e. under one read
 * transaction (WAL lets the server's writer go on meanwhile). PostgreSQL: `pg_dump -Fc` reads a
 * snapshot exported from a REPEATABLE READ transaction, in which the table counts are taken too.
 * This talks to the database directly, not through the stores: it works on whole tables, whatever
 * migrations exist, and must not migrate the database it copies.
 */
import { spawn } from 'node:child_process';
import { backup, DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { BackupError } from './encryption.ts';

/** Pages per backup step: all of them, so the copy is made under a single read transaction. */
const ALL_PAGES = 2_147_483_647;

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** What a dump reports from its own snapshot. */
export interface DumpFacts {
  /** Row count per table. */
  tables: Record<string, number>;
  /** The SHA-256 of every uploaded media file the database refers to. */
  mediaHashes: string[];
}

const MEDIA_HASHES = 'select distinct sha256 from media where sha256 is not null';

export function countSqliteTables(db: DatabaseSync): Record<string, number> {
  const tables = db.prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`).all() as { name: string }[];
  const counts: Record<string, number> = {};
  for (const { name } of tables) counts[name] = Number((db.prepare(`select count(*) as n from ${quoteIdent(name)}`).get() as { n: number }).n);
  return counts;
}

/** Copies the live SQLite database at `source` into `target` and counts the copy's rows. */
export async function dumpSqlite(source: string, target: string): Promise<DumpFacts> {
  // Read-write: a read-only connection cannot make the WAL index a stopped server's database may lack.
  const live = new DatabaseSync(source);
  try {
    live.exec('PRAGMA busy_timeout = 10000');
    await backup(live, target, { rate: ALL_PAGES });
  } finally {
    live.close();
  }
  const copy = new DatabaseSync(target, { readOnly: true });
  try {
    const tables = countSqliteTables(copy);
    const mediaHashes = 'media' in tables ? (copy.prepare(MEDIA_HASHES).all() as { sha256: string }[]).map((r) => r.sha256) : [];
    return { tables, mediaHashes };
  } finally {
    copy.close();
  }
}

/** Checks a restored SQLite file before it is put in place: integrity and the manifest's counts. */
export function checkSqliteCopy(path: string, expected: Record<string, number>): void {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const result = db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[];
    if (result.length !== 1 || result[0]!.integrity_check !== 'ok') throw new BackupError('damaged', 'the database in the backup fails SQLite\'s integrity check');
    compareCounts(countSqliteTables(db), expected);
  } finally {
    db.close();
  }
}

export function compareCounts(actual: Record<string, number>, expected: Record<string, number>): void {
  const names = new Set([...Object.keys(actual), ...Object.keys(expected)]);
  for (const name of names) {
    if (actual[name] !== expected[name]) {
      throw new BackupError('damaged', `table ${name} has ${actual[name] ?? 'no'} rows after restoring, the manifest says ${expected[name] ?? 'none'}`);
    }
  }
}

/**
 * libpq settings for the pg_ tools: the URL without its password (argv shows in `ps`), the password
 * in PGPASSWORD.
 */
function pgConnection(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  return { dbname: parsed.toString(), env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) } };
}

/** Runs a pg_ tool; rejects with its stderr (which carries no passwords) when it fails. */
function runTool(tool: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(new BackupError('failed', err.code === 'ENOENT' ? `${tool} was not found: install the PostgreSQL client tools (the same major version as the server or newer) and put them on PATH` : `${tool}: ${err.message}`)),
    );
    child.on('close', (code) => (code === 0 ? resolve() : reject(new BackupError('failed', `${tool} failed (exit ${code}): ${stderr.trim() || 'no message'}`))));
  });
}

async function countPgTables(client: pg.ClientBase): Promise<Record<string, number>> {
  const { rows } = await client.query<{ tablename: string }>(`select tablename from pg_tables where schemaname = current_schema() order by tablename`);
  const counts: Record<string, number> = {};
  for (const { tablename } of rows) {
    const result = await client.query<{ n: string }>(`select count(*) as n from ${quoteIdent(tablename)}`);
    counts[tablename] = Number(result.rows[0]!.n);
  }
  return counts;
}

/** `pg_dump -Fc` of the database at `url` into `target`, with the row counts of the same snapshot. */
export async function dumpPostgres(url: string, target: string): Promise<DumpFacts> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('begin transaction isolation level repeatable read, read only');
    const { rows } = await client.query<{ id: string }>('select pg_export_snapshot() as id');
    const { dbname, env } = pgConnection(url);
    // The exporting transaction stays open until pg_dump has finished, so the snapshot stays valid.
    const [counts] = await Promise.all([
      countPgTables(client),
      runTool('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', `--snapshot=${rows[0]!.id}`, `--file=${target}`, `--dbname=${dbname}`], env),
    ]);
    const mediaHashes = 'media' in counts ? (await client.query<{ sha256: string }>(MEDIA_HASHES)).rows.map((r) => r.sha256) : [];
    await client.query('commit');
    return { tables: counts, mediaHashes };
  } finally {
    await client.end();
  }
}

/** Names the tables in the database at `url` (any schema but the system ones); empty means restorable. */
export async function postgresTables(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      `select schemaname || '.' || tablename as name from pg_tables where schemaname not in ('pg_catalog', 'information_schema') order by 1`,
    );
    return rows.map((r) => r.name);
  } finally {
    await client.end();
  }
}

/**
 * Restores a pg_dump archive into the (empty) database at `url` in one transaction, then checks the
 * counts. On a failure the caller drops what was restored (dropPostgresTables).
 */
export async function restorePostgres(url: string, dump: string, expected: Record<string, number>): Promise<void> {
  const { dbname, env } = pgConnection(url);
  await runTool('pg_restore', ['--single-transaction', '--exit-on-error', '--no-owner', '--no-privileges', `--dbname=${dbname}`, dump], env);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    compareCounts(await countPgTables(client), expected);
  } finally {
    await client.end();
  }
}

/** Drops every table of the current schema: only used on a database that was empty before a failed restore. */
export async function dropPostgresTables(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = Object.keys(await countPgTables(client));
    if (tables.length > 0) await client.query(`drop table if exists ${tables.map(quoteIdent).join(', ')} cascade`);
  } finally {
    await client.end();
  }
}
