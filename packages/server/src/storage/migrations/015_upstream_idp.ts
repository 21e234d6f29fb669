/**
 * The upstream identity provider's subjects: which account each (issuer, subject) pair signs in as.
 * One subject per account per issuer, so a second IdP identity can never take over a linked account.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('upstream_idp_links')
    .addColumn('issuer', 'text', (c) => c.notNull())
    /** The IdP's stable `sub` claim (never the e-mail address or user name, which can change hands). */
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.user_id'))
    .addColumn('created_ts', 'bigint', (c) => c.notNull())
    .addColumn('last_login_ts', 'bigint')
    .addPrimaryKeyConstraint('upstream_idp_links_pk', ['issuer', 'subject'])
    .addUniqueConstraint('upstream_idp_links_user', ['issuer', 'user_id'])
    .execute();
}
