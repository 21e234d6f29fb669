/**
 * Rooms an administrator has blocked: a blocked room refuses new joins, invites and sends, while its
 * members can still read and leave it. Blocked rooms are few, so a flag on the room row is enough.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('rooms').addColumn('blocked', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}
