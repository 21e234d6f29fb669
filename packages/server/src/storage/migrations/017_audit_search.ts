/**
 * Audit search in SQL: indexes for "by user" (the actor, or the user an entry concerns), "about a
 * room" and "by action (prefix)". Indexes only — no new column, no backfill: the entries are
 * hash-chained and on PostgreSQL refuse UPDATE, and what is hashed stays exactly what it was. The
 * target ids are read from the entry's JSON target by exactly the expressions the store queries
 * with (storage/audit.ts), so the planner matches them to the indexes.
 *
 * Every index is one more b-tree written per entry (one per message sent), so they are partial: an
 * entry goes only into the indexes of the ids it has.
 */
import { PostgresAdapter, sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  // The JSON is canonical, written by the trail itself; while these indexes exist, a row whose
  // target is not JSON cannot even be written (the expression fails), so the queries never meet one.
  const targetUser = postgres ? sql`(target::jsonb ->> 'userId')` : sql`json_extract(target, '$.userId')`;
  const targetRoom = postgres ? sql`(target::jsonb ->> 'roomId')` : sql`json_extract(target, '$.roomId')`;
  // Prefix searches compare byte-wise ("admin." ≤ action < "admin/"), whatever the database's collation.
  const action = postgres ? sql`action collate "C"` : sql`action`;

  await sql`create index audit_log_actor on audit_log (actor_user_id, seq) where actor_user_id is not null`.execute(db);
  await sql`create index audit_log_target_user on audit_log (${targetUser}, seq) where ${targetUser} is not null`.execute(db);
  await sql`create index audit_log_target_room on audit_log (${targetRoom}, seq) where ${targetRoom} is not null`.execute(db);
  await sql`create index audit_log_action on audit_log (${action}, seq)`.execute(db);
}
