/**
 * Second factors and the sign-in page: TOTP secrets (encrypted), WebAuthn credentials, recovery codes
 * (hashed), single-use login tokens for Matrix SSO (hashed) and the server-side state of sign-in flows.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('mfa_totp')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.user_id'))
    /** AES-256-GCM ciphertext of the base32 secret, under a key derived from the server's key file. */
    .addColumn('secret_encrypted', 'text', (c) => c.notNull())
    /** The last RFC 6238 time step accepted: a code of that step or earlier is a replay. */
    .addColumn('last_used_step', 'bigint')
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('mfa_webauthn_credentials')
    .addColumn('credential_id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.user_id'))
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('sign_count', 'bigint', (c) => c.notNull())
    /** JSON array of transports the browser reported (usb, nfc, internal, hybrid, ...). */
    .addColumn('transports', 'text', (c) => c.notNull())
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .addColumn('last_used_ts', 'bigint')
    .execute();
  await db.schema.createIndex('mfa_webauthn_credentials_user').on('mfa_webauthn_credentials').column('user_id').execute();

  await db.schema
    .createTable('mfa_recovery_codes')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.user_id'))
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .addColumn('used_ts', 'bigint')
    .addPrimaryKeyConstraint('mfa_recovery_codes_pk', ['user_id', 'code_hash'])
    .execute();

  await db.schema
    .createTable('login_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.user_id'))
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .addColumn('expires_ts', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('login_tokens_expires').on('login_tokens').column('expires_ts').execute();

  await db.schema
    .createTable('sign_in_flows')
    /** SHA-256 of the random value in the browser's cookie. */
    .addColumn('flow_hash', 'text', (c) => c.primaryKey())
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    /** password, second_factor, enroll, recovery_codes */
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    /** JSON: where to go once the person is authenticated (e.g. {"kind":"sso","redirectUrl":...}). */
    .addColumn('completion', 'text', (c) => c.notNull())
    /** JSON: per-step facts (pending TOTP secret, encrypted; WebAuthn challenge). */
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .addColumn('expires_ts', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sign_in_flows_expires').on('sign_in_flows').column('expires_ts').execute();
}
