/**
 * Automatic logoff and remote wipe: when each device's current sign-in began (the absolute session
 * lifetime counts from it), a record of tokens whose session was ended (so a wiped device is told to
 * erase its data rather than getting a generic "unknown token"), and each user's server notices room.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('devices').addColumn('session_started_ts', 'bigint').execute();

  await db.schema
    .createTable('ended_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('ended_ts', 'bigint', (c) => c.notNull())
    /** Why the session ended: wipe, deactivated, deleted, logout, password_change, refresh_reuse. */
    .addColumn('reason', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ended_tokens_ts').on('ended_tokens').column('ended_ts').execute();

  await db.schema
    .createTable('server_notice_rooms')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .execute();
}
