/**
 * Rooms and events: the event log, current room state, send idempotency, aliases, receipts, typing.
 * Every row a client learns about through /sync carries a position on the one global stream.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('rooms')
    .addColumn('room_id', 'text', (c) => c.primaryKey())
    .addColumn('room_version', 'text', (c) => c.notNull())
    .addColumn('creator', 'text', (c) => c.notNull())
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .addColumn('is_public', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('events')
    .addColumn('stream_ordering', 'bigint', (c) => c.primaryKey())
    .addColumn('event_id', 'text', (c) => c.notNull().unique())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('state_key', 'text')
    .addColumn('sender', 'text', (c) => c.notNull())
    .addColumn('origin_server_ts', 'bigint', (c) => c.notNull())
    .addColumn('depth', 'bigint', (c) => c.notNull())
    /** The whole event as signed (content redacted in place once a redaction applies). */
    .addColumn('json', 'text', (c) => c.notNull())
    /** Server-side extras shown to clients: prev_content, replaces_state, redacted_because. */
    .addColumn('unsigned', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('redacted_by', 'text')
    /** For relations: the related event id and relation type (m.relates_to), when present. */
    .addColumn('relates_to', 'text')
    .addColumn('rel_type', 'text')
    .execute();
  await db.schema.createIndex('events_room_stream').on('events').columns(['room_id', 'stream_ordering']).execute();
  // Partial indexes: most events are messages without a state key or a relation, and need neither.
  await db.schema
    .createIndex('events_room_state')
    .on('events')
    .columns(['room_id', 'type', 'state_key', 'stream_ordering'])
    .where(sql.ref('state_key'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('events_relates_to')
    .on('events')
    .columns(['relates_to', 'stream_ordering'])
    .where(sql.ref('relates_to'), 'is not', null)
    .execute();

  await db.schema
    .createTable('current_state')
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('state_key', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('stream_ordering', 'bigint', (c) => c.notNull())
    /** For m.room.member: the membership, so "rooms of a user" and "members of a room" are index look-ups. */
    .addColumn('membership', 'text')
    .addPrimaryKeyConstraint('current_state_pk', ['room_id', 'type', 'state_key'])
    .execute();
  await db.schema.createIndex('current_state_member').on('current_state').columns(['state_key', 'type', 'membership']).execute();

  await db.schema
    .createTable('event_txns')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('txn_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('event_txns_pk', ['user_id', 'device_id', 'txn_id'])
    .execute();
  await db.schema.createIndex('event_txns_event').on('event_txns').column('event_id').execute();

  await db.schema
    .createTable('room_aliases')
    .addColumn('alias', 'text', (c) => c.primaryKey())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('creator', 'text', (c) => c.notNull())
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('room_aliases_room').on('room_aliases').column('room_id').execute();

  await db.schema
    .createTable('receipts')
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('receipt_type', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    /** "" for an unthreaded receipt. */
    .addColumn('thread_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('event_stream', 'bigint', (c) => c.notNull())
    .addColumn('ts', 'bigint', (c) => c.notNull())
    .addColumn('stream_id', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('receipts_pk', ['room_id', 'receipt_type', 'user_id', 'thread_id'])
    .execute();
  await db.schema.createIndex('receipts_room_stream').on('receipts').columns(['room_id', 'stream_id']).execute();

  await db.schema
    .createTable('typing')
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('expires_ts', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('typing_pk', ['room_id', 'user_id'])
    .execute();
  /** Rooms whose typing set changed, by stream position (a row per change, so "stopped typing" is seen too). */
  await db.schema
    .createTable('typing_changes')
    .addColumn('stream_id', 'bigint', (c) => c.primaryKey())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .execute();

  /** Rooms a user left and asked to forget: they vanish from that user's /sync. */
  await db.schema
    .createTable('room_forgotten')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('room_forgotten_pk', ['user_id', 'room_id'])
    .execute();

  await db.schema.createIndex('account_data_room').on('account_data').columns(['user_id', 'room_id', 'stream_id']).execute();
}
