/**
 * Named monotonic counters (stream positions), shared by every server process on the database.
 * /sync uses them to tell what changed since a client's last position.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export async function nextStreamId(db: Kysely<Database>, name: string): Promise<number> {
  // Insert-or-increment in one statement; the row lock orders concurrent writers.
  const row = await db
    .insertInto('stream_counters')
    .values({ name, value: 1 })
    .onConflict((oc) => oc.column('name').doUpdateSet((eb) => ({ value: eb('stream_counters.value', '+', 1) })))
    .returning('value')
    .executeTakeFirstOrThrow();
  return Number(row.value);
}

export async function currentStreamId(db: Kysely<Database>, name: string): Promise<number> {
  const row = await db.selectFrom('stream_counters').select('value').where('name', '=', name).executeTakeFirst();
  return row ? Number(row.value) : 0;
}
