/**
 * The global stream: one monotonic position shared by every server process on the database and by
 * every kind of change a client learns about through /sync (events, account data, receipts, typing…),
 * so a sync token is a single number.
 *
 * Ordering guarantee: a position is taken by updating the counter row inside the writer's
 * transaction, and that row stays locked until the transaction commits. So writers are serialised,
 * positions commit in order, and a reader that sees the counter at N can see every row up to N.
 */
import { sql, type CompiledQuery, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

export const MAIN_STREAM = 'main';

/** Takes the next `count` positions (call inside a transaction); returns the first one. */
export async function takeStreamPositions(db: Kysely<Database>, count = 1): Promise<number> {
  // Hot path (every write): a plain template, not the query builder, which costs several times more per call.
  const { rows } = await sql<{ value: number }>`
    insert into stream_counters (name, value) values (${MAIN_STREAM}, ${count})
    on conflict (name) do update set value = stream_counters.value + ${count}
    returning value`.execute(db);
  return Number(rows[0]!.value) - count + 1;
}

/** The newest committed position. */
export async function currentStreamPosition(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ value: number }>`select value from stream_counters where name = ${MAIN_STREAM}`.execute(db);
  return rows[0] ? Number(rows[0].value) : 0;
}

/** Stream positions, as the stores of one transaction see them. */
export interface StreamStore {
  /** Locks the stream for this transaction (other writers wait until it commits) and returns its position. */
  lock(): Promise<number>;
  /** Moves the stream to `position` (inside the locking transaction, after handing out positions up to it). */
  advanceTo(position: number): Promise<void>;
  current(): Promise<number>;
}

export class KyselyStreamStore implements StreamStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async lock() {
    // Taking zero positions updates the counter row to itself: on PostgreSQL that holds its row lock.
    return (await takeStreamPositions(this.#db, 0)) - 1;
  }

  async advanceTo(position: number) {
    await this.#db.executeQuery(this.advanceQuery(position));
  }

  /** The statement `advanceTo` runs (a PostgreSQL batch sends it with its commit). */
  advanceQuery(position: number): CompiledQuery {
    return sql`update stream_counters set value = ${position} where name = ${MAIN_STREAM}`.compile(this.#db);
  }

  current() {
    return currentStreamPosition(this.#db);
  }
}
