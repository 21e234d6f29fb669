/**
 * End-to-end encryption keys: device identity keys, one-time and fallback keys, cross-signing keys
 * and the signatures users put on each other's keys, plus the stream of "whose keys changed".
 * Key objects are stored as the client uploaded them (JSON text), so their signatures still verify.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('e2e_device_keys')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('key_json', 'text', (c) => c.notNull())
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('e2e_device_keys_pk', ['user_id', 'device_id'])
    .execute();

  /** Each row is handed out once by /keys/claim, which deletes it. */
  await db.schema
    .createTable('e2e_one_time_keys')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('key_json', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('e2e_one_time_keys_pk', ['user_id', 'device_id', 'algorithm', 'key_id'])
    .execute();

  /** One fallback key per device and algorithm; `used` once claimed, until replaced. */
  await db.schema
    .createTable('e2e_fallback_keys')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('key_json', 'text', (c) => c.notNull())
    .addColumn('used', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('e2e_fallback_keys_pk', ['user_id', 'device_id', 'algorithm'])
    .execute();

  /** key_type: "master", "self_signing" or "user_signing". */
  await db.schema
    .createTable('e2e_cross_signing_keys')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('key_type', 'text', (c) => c.notNull())
    .addColumn('key_json', 'text', (c) => c.notNull())
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('e2e_cross_signing_keys_pk', ['user_id', 'key_type'])
    .execute();

  /**
   * Signatures uploaded through /keys/signatures/upload, merged into the signed key when queried.
   * target_key_id: a device id, or the public key of a cross-signing key.
   */
  await db.schema
    .createTable('e2e_signatures')
    .addColumn('target_user_id', 'text', (c) => c.notNull())
    .addColumn('target_key_id', 'text', (c) => c.notNull())
    .addColumn('signer_user_id', 'text', (c) => c.notNull())
    .addColumn('signer_key_id', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('e2e_signatures_pk', ['target_user_id', 'target_key_id', 'signer_user_id', 'signer_key_id'])
    .execute();

  /** Users whose device list or keys changed, by stream position (for /sync device_lists.changed). */
  await db.schema
    .createTable('device_list_changes')
    .addColumn('stream_id', 'bigint', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('device_list_changes_user').on('device_list_changes').columns(['user_id', 'stream_id']).execute();
}
