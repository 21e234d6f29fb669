/**
 * The audit trail: an append-only, hash-chained log (each entry carries the hash of the one before),
 * checkpoints that sign the chain's head with the server key, and a one-row table whose row lock
 * serialises appends across server processes on PostgreSQL. On PostgreSQL triggers refuse UPDATE,
 * DELETE and TRUNCATE of the log and the checkpoints; on SQLite the chain itself reveals them.
 */
import { PostgresAdapter, sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema
    .createTable('audit_log')
    // On SQLite "integer primary key" is the rowid itself: one b-tree less to write on every append.
    .addColumn('seq', postgres ? 'bigint' : 'integer', (c) => c.primaryKey())
    .addColumn('ts', 'bigint', (c) => c.notNull())
    .addColumn('actor_user_id', 'text')
    .addColumn('actor_device_id', 'text')
    .addColumn('actor_address', 'text')
    .addColumn('actor_user_agent', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    /** JSON object of target ids (userId, roomId, eventId, deviceId, mediaId, …). */
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text')
    /** JSON object of non-content facts (sizes, content hashes, reason codes). */
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  // Exports and searches go by time; each extra index is one more page written on every send.
  await db.schema.createIndex('audit_log_ts').on('audit_log').column('ts').execute();

  await db.schema
    .createTable('audit_checkpoints')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('ts', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .execute();

  await db.schema.createTable('audit_chain_lock').addColumn('id', 'integer', (c) => c.primaryKey()).execute();
  await sql`insert into audit_chain_lock (id) values (1)`.execute(db);

  if (postgres) {
    await sql`
      create function audit_refuse_change() returns trigger language plpgsql as $$
      begin
        raise exception 'the audit trail is append-only: % on % refused', tg_op, tg_table_name using errcode = 'insufficient_privilege';
      end $$`.execute(db);
    for (const table of ['audit_log', 'audit_checkpoints']) {
      await sql`create trigger ${sql.id(`${table}_append_only`)} before update or delete on ${sql.id(table)} for each row execute function audit_refuse_change()`.execute(db);
      await sql`create trigger ${sql.id(`${table}_no_truncate`)} before truncate on ${sql.id(table)} for each statement execute function audit_refuse_change()`.execute(db);
    }
  }
}
