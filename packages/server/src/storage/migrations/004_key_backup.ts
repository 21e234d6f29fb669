/**
 * Server-side key backups (room_keys): each user's backup versions and the encrypted megolm session
 * keys stored in them. The server never reads the keys: auth_data and session_data are kept as the
 * client sent them (JSON text).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  /**
   * Versions count up per user and are never reused: a deleted version keeps its row (`deleted` = 1)
   * so deleting it again succeeds and the next version is still higher. `etag` counts changes to the keys.
   */
  await db.schema
    .createTable('key_backup_versions')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('version', 'bigint', (c) => c.notNull())
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('auth_data', 'text', (c) => c.notNull())
    .addColumn('etag', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('key_backup_versions_pk', ['user_id', 'version'])
    .execute();

  /** One backed-up session key per (user, version, room, session). is_verified: 0 or 1. */
  await db.schema
    .createTable('key_backup_sessions')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('version', 'bigint', (c) => c.notNull())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('first_message_index', 'bigint', (c) => c.notNull())
    .addColumn('forwarded_count', 'bigint', (c) => c.notNull())
    .addColumn('is_verified', 'integer', (c) => c.notNull())
    .addColumn('session_data', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('key_backup_sessions_pk', ['user_id', 'version', 'room_id', 'session_id'])
    .execute();
}
