/**
 * The media repository: one row per media id. The bytes live in the data folder, content-addressed
 * by sha256 (identical uploads share one file). A row made by /media/v1/create has no content yet
 * (sha256 null) until its owner uploads it, before unused_expires_ts.
 * room_id: the room the media was sent into (set later from the event referencing it), so retention
 * and redaction can remove media together with the messages.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('media')
    .addColumn('media_id', 'text', (c) => c.primaryKey())
    .addColumn('server_name', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text')
    .addColumn('content_type', 'text')
    .addColumn('upload_name', 'text')
    .addColumn('size', 'bigint')
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .addColumn('uploaded_ts', 'bigint')
    .addColumn('unused_expires_ts', 'bigint')
    .addColumn('room_id', 'text')
    .execute();
  await db.schema.createIndex('media_sha256').on('media').column('sha256').execute();
  await db.schema.createIndex('media_user_pending').on('media').columns(['user_id', 'unused_expires_ts']).execute();
  await db.schema.createIndex('media_room').on('media').column('room_id').execute();
}
