/**
 * OAuth 2.0 / OIDC sign-in (src/services/oauth): everything the authorization server keeps (clients,
 * interactions, grants, codes, tokens) in one table keyed by (model, hash of the id), with the
 * columns its lookups need. Ids are stored only as SHA-256 hashes: for tokens the id is the token.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('oauth_records')
    /** The provider's model: Client, Interaction, Session, Grant, AuthorizationCode, AccessToken, RefreshToken, ... */
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('id_hash', 'text', (c) => c.notNull())
    /** JSON; a token's own value (jti) is left out. */
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('grant_id', 'text')
    .addColumn('uid', 'text')
    .addColumn('user_code', 'text')
    /** The Matrix user and device the record belongs to, so ending a session revokes its grants. */
    .addColumn('user_id', 'text')
    .addColumn('device_id', 'text')
    /** Milliseconds since the epoch; null: kept until deleted. */
    .addColumn('expires_ts', 'bigint')
    .addColumn('consumed_ts', 'bigint')
    .addPrimaryKeyConstraint('oauth_records_pk', ['model', 'id_hash'])
    .execute();
  await db.schema.createIndex('oauth_records_grant').on('oauth_records').column('grant_id').execute();
  await db.schema.createIndex('oauth_records_uid').on('oauth_records').columns(['model', 'uid']).execute();
  await db.schema.createIndex('oauth_records_user_code').on('oauth_records').columns(['model', 'user_code']).execute();
  await db.schema.createIndex('oauth_records_device').on('oauth_records').columns(['user_id', 'device_id']).execute();
  await db.schema.createIndex('oauth_records_expires').on('oauth_records').column('expires_ts').execute();
}
