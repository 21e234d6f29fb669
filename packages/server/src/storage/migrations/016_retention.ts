/**
 * Retention and legal hold (issue 7).
 * - events.expires_ts: when the event's content is due for purging, computed at append time from the
 *   room's m.room.retention, the organisation default and the message's own org.caduceus.expires_at,
 *   so the purge job finds its work through a (partial) index instead of scanning the log. State
 *   events never get one.
 * - legal_holds: a user or a room whose data must not be purged or erased until the hold is released.
 * - redaction_erasures: redacted events whose leftover copies (edits, prev_content, media) are erased
 *   after a grace period; original_json is kept only while a legal hold covered the event when it was
 *   redacted, and goes when the hold is released.
 * - retention_stream_marks: (time, stream position) samples, so "to-device messages older than N days"
 *   is a stream-position comparison (those rows carry no timestamp).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('events').addColumn('expires_ts', 'bigint').execute();
  await db.schema
    .createIndex('events_expires')
    .on('events')
    .column('expires_ts')
    .where(sql.ref('expires_ts'), 'is not', null)
    .execute();

  await db.schema
    .createTable('legal_holds')
    .addColumn('hold_id', 'text', (c) => c.primaryKey())
    /** 'user' or 'room' */
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    /** Why (a case or matter reference); shown to administrators, never content. */
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('legal_holds_target').on('legal_holds').columns(['kind', 'target']).execute();

  await db.schema
    .createTable('redaction_erasures')
    .addColumn('event_id', 'text', (c) => c.primaryKey())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('sender', 'text', (c) => c.notNull())
    .addColumn('redacted_ts', 'bigint', (c) => c.notNull())
    .addColumn('original_json', 'text')
    .execute();
  await db.schema.createIndex('redaction_erasures_ts').on('redaction_erasures').column('redacted_ts').execute();

  await db.schema
    .createTable('retention_stream_marks')
    .addColumn('ts', 'bigint', (c) => c.primaryKey())
    .addColumn('stream_position', 'bigint', (c) => c.notNull())
    .execute();
}
