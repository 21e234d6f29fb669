/**
 * A PostgreSQL write batch in as few round trips as possible. Inside the serialised write every
 * round trip is one that every other write waits for, and each waits for an event loop busy with
 * /sync answers (docs/benchmarks.md, passes eight and nine).
 *  - The opening: `begin`, the stream's lock, the audit chain's lock and the chain's head, and the
 *    reads the batch asks for (its sends' bases), sent together as one multi-statement query.
 *  - The end: the writes the batch held back (its messages, audit entries, the stream's new
 *    position) and `commit`, again as one.
 * A multi-statement query takes no parameters, so values are written into its text as literals
 * (inline-sql.ts). Read committed takes a fresh snapshot for each statement, so the head and the
 * bases are read after the locks are held and see what the previous holder committed.
 */
import { Kysely, PostgresDialect, type CompiledQuery, type PostgresPool } from 'kysely';
import type pg from 'pg';
import { inlineParameters } from './inline-sql.ts';
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
  /** The rows of each query `alsoRead` asked for, in order. */
  alsoRead: unknown[][];
  /** Runs `finalWrites`, then commits, in one round trip. */
  commit(finalWrites?: readonly CompiledQuery[]): Promise<void>;
  rollback(): Promise<void>;
}

/** Begins a batch with its locks taken; `alsoRead`: queries answered in the same round trip, after the locks. */
export async function beginLockedBatch(pool: pg.Pool, alsoRead: readonly CompiledQuery[] = []): Promise<LockedTransaction> {
  const text = [OPENING, ...alsoRead.map(inlineParameters)].join(';\n');
  const client = await pool.connect();
  let results: pg.QueryResult[];
  try {
    results = (await client.query(text)) as unknown as pg.QueryResult[];
  } catch (err) {
    // Possibly half begun: the pool drops this connection rather than lend it out again.
    client.release(err as Error);
    throw err;
  }
  const position = Number((results[1]!.rows[0] as { value: number }).value);
  const head = results[3]!.rows[0] as { seq: number; hash: string } | undefined;
  let ended = false;
  const end = async (statement: string) => {
    if (ended) return;
    ended = true;
    try {
      // A failed statement skips the rest of the text, the commit included; the connection is then dropped.
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
    alsoRead: results.slice(4).map((r) => r.rows as unknown[]),
    commit: (finalWrites = []) => end([...finalWrites.map(inlineParameters), 'commit'].join(';\n')),
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
