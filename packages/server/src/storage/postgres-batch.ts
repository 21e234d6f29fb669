/**
 * The opening of a PostgreSQL write batch in one round trip: `begin`, the stream's lock, the audit
 * chain's lock and the chain's head, sent together as one multi-statement query. Inside the
 * serialised write every round trip is one that every other write waits for, and each waits for an
 * event loop busy with /sync answers (docs/benchmarks.md, pass eight); this saves three per batch.
 *
 * Read committed takes a fresh snapshot for each statement, so the head is read after the locks
 * are held and sees the entry the previous holder appended. The statements carry no values (a
 * multi-statement query cannot take parameters): only fixed names.
 */
import { Kysely, PostgresDialect, type PostgresPool } from 'kysely';
import type pg from 'pg';
import type { Database } from './schema.ts';
import { MAIN_STREAM } from './streams.ts';

const OPENING = `begin;
insert into stream_counters (name, value) values ('${MAIN_STREAM}', 0) on conflict (name) do update set value = stream_counters.value returning value;
select id from audit_chain_lock where id = 1 for update;
select seq, hash from audit_log order by seq desc limit 1`;

/** A batch transaction begun with the locks taken, on a connection of its own until it ends. */
export interface LockedTransaction {
  /** Queries on the transaction's connection. */
  db: Kysely<Database>;
  /** The stream's position when the lock was taken (what `StreamStore.lock` answers). */
  streamPosition: number;
  /** The audit chain's newest entry (none in an empty chain). */
  auditHead: { seq: number; hash: string } | undefined;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

export async function beginLockedBatch(pool: pg.Pool): Promise<LockedTransaction> {
  const client = await pool.connect();
  let results: pg.QueryResult[];
  try {
    results = (await client.query(OPENING)) as unknown as pg.QueryResult[];
  } catch (err) {
    // Possibly half begun: the pool drops this connection rather than lend it out again.
    client.release(err as Error);
    throw err;
  }
  const position = Number((results[1]!.rows[0] as { value: number }).value);
  const head = results[3]!.rows[0] as { seq: number; hash: string } | undefined;
  let ended = false;
  const end = async (statement: 'commit' | 'rollback') => {
    if (ended) return;
    ended = true;
    try {
      await client.query(statement);
    } catch (err) {
      client.release(err as Error);
      throw err;
    }
    client.release();
  };
  return {
    db: kyselyOver(client, pool),
    streamPosition: position,
    auditHead: head ? { seq: Number(head.seq), hash: head.hash } : undefined,
    commit: () => end('commit'),
    rollback: () => end('rollback'),
  };
}

/** Kysely over one pooled connection, made once per connection (the pool lends the same few again and again). */
const overClient = new WeakMap<pg.PoolClient, Kysely<Database>>();

function kyselyOver(client: pg.PoolClient, pool: pg.Pool): Kysely<Database> {
  let db = overClient.get(client);
  if (!db) {
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: onlyClient(client, pool) }) });
    overClient.set(client, db);
  }
  return db;
}

/** A "pool" that lends Kysely the one connection; returning it to the real pool is `end`'s business. */
function onlyClient(client: pg.PoolClient, pool: pg.Pool): PostgresPool {
  const lent = { query: client.query.bind(client), release: () => {} };
  return { connect: async () => lent as never, end: async () => {}, options: pool.options };
}
