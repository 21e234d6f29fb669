/**
 * Which events reference which uploads: one row per (media, event), written when the uploader sends an
 * event whose visible content names their own mxc:// URI (or attaches it explicitly, MSC3911). Redaction
 * and retention find here the media that only the removed messages used; media.room_id keeps the first
 * room the upload was sent into.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('media_references')
    .addColumn('media_id', 'text', (c) => c.notNull())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('media_references_pk', ['media_id', 'event_id'])
    .execute();
  await db.schema.createIndex('media_references_event').on('media_references').column('event_id').execute();
  await db.schema.createIndex('media_references_room').on('media_references').columns(['room_id', 'media_id']).execute();
}
