/**
 * Second factors of each user (TOTP, WebAuthn credentials, recovery codes), and the sign-in page's
 * own records: flows in progress and the single-use login tokens SSO hands back to clients.
 * Secrets arrive here already encrypted or hashed; one-time uses are single conditional updates,
 * so two concurrent requests can never both succeed.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface TotpRecord {
  userId: string;
  secretEncrypted: string;
  lastUsedStep: number | null;
}

export interface WebAuthnCredentialRecord {
  credentialId: string;
  userId: string;
  publicKey: string;
  signCount: number;
  transports: string[];
  createdTs: number;
  lastUsedTs: number | null;
}

export interface MfaStore {
  getTotp(userId: string): Promise<TotpRecord | undefined>;
  /** Enrols (or replaces) the user's TOTP secret; `lastUsedStep` is the step of the code that confirmed it. */
  setTotp(userId: string, secretEncrypted: string, lastUsedStep: number, now: number): Promise<void>;
  /** Records `step` as used; false when that step or a later one was already used (a replay). */
  claimTotpStep(userId: string, step: number): Promise<boolean>;
  deleteTotp(userId: string): Promise<boolean>;

  listWebAuthnCredentials(userId: string): Promise<WebAuthnCredentialRecord[]>;
  getWebAuthnCredential(credentialId: string): Promise<WebAuthnCredentialRecord | undefined>;
  addWebAuthnCredential(credential: Omit<WebAuthnCredentialRecord, 'lastUsedTs'>): Promise<void>;
  recordWebAuthnUse(credentialId: string, signCount: number, now: number): Promise<void>;
  deleteWebAuthnCredentials(userId: string): Promise<number>;
  /** Removes one credential of the user; false when the user has no such credential. */
  deleteWebAuthnCredential(userId: string, credentialId: string): Promise<boolean>;

  /** Replaces every recovery code of the user. */
  replaceRecoveryCodes(userId: string, codeHashes: string[], now: number): Promise<void>;
  /** Marks an unused code used; false when there is no such unused code. */
  useRecoveryCode(userId: string, codeHash: string, now: number): Promise<boolean>;
  countUnusedRecoveryCodes(userId: string): Promise<number>;
  deleteRecoveryCodes(userId: string): Promise<number>;
}

export class KyselyMfaStore implements MfaStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async getTotp(userId: string) {
    const row = await this.#db.selectFrom('mfa_totp').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return row && { userId: row.user_id, secretEncrypted: row.secret_encrypted, lastUsedStep: row.last_used_step };
  }

  async setTotp(userId: string, secretEncrypted: string, lastUsedStep: number, now: number) {
    await this.#db
      .insertInto('mfa_totp')
      .values({ user_id: userId, secret_encrypted: secretEncrypted, last_used_step: lastUsedStep, created_ts: now })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ secret_encrypted: secretEncrypted, last_used_step: lastUsedStep, created_ts: now }))
      .execute();
  }

  async claimTotpStep(userId: string, step: number) {
    const result = await this.#db
      .updateTable('mfa_totp')
      .set({ last_used_step: step })
      .where('user_id', '=', userId)
      .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async deleteTotp(userId: string) {
    const result = await this.#db.deleteFrom('mfa_totp').where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async listWebAuthnCredentials(userId: string) {
    const rows = await this.#db.selectFrom('mfa_webauthn_credentials').selectAll().where('user_id', '=', userId).orderBy('created_ts').execute();
    return rows.map(credentialFromRow);
  }

  async getWebAuthnCredential(credentialId: string) {
    const row = await this.#db.selectFrom('mfa_webauthn_credentials').selectAll().where('credential_id', '=', credentialId).executeTakeFirst();
    return row && credentialFromRow(row);
  }

  async addWebAuthnCredential(c: Omit<WebAuthnCredentialRecord, 'lastUsedTs'>) {
    await this.#db
      .insertInto('mfa_webauthn_credentials')
      .values({
        credential_id: c.credentialId,
        user_id: c.userId,
        public_key: c.publicKey,
        sign_count: c.signCount,
        transports: JSON.stringify(c.transports),
        created_ts: c.createdTs,
        last_used_ts: null,
      })
      .execute();
  }

  async recordWebAuthnUse(credentialId: string, signCount: number, now: number) {
    await this.#db.updateTable('mfa_webauthn_credentials').set({ sign_count: signCount, last_used_ts: now }).where('credential_id', '=', credentialId).execute();
  }

  async deleteWebAuthnCredentials(userId: string) {
    const result = await this.#db.deleteFrom('mfa_webauthn_credentials').where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async deleteWebAuthnCredential(userId: string, credentialId: string) {
    const result = await this.#db.deleteFrom('mfa_webauthn_credentials').where('user_id', '=', userId).where('credential_id', '=', credentialId).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async replaceRecoveryCodes(userId: string, codeHashes: string[], now: number) {
    await this.#db.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
    if (codeHashes.length === 0) return;
    await this.#db
      .insertInto('mfa_recovery_codes')
      .values(codeHashes.map((code_hash) => ({ user_id: userId, code_hash, created_ts: now, used_ts: null })))
      .execute();
  }

  async useRecoveryCode(userId: string, codeHash: string, now: number) {
    const result = await this.#db
      .updateTable('mfa_recovery_codes')
      .set({ used_ts: now })
      .where('user_id', '=', userId)
      .where('code_hash', '=', codeHash)
      .where('used_ts', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async countUnusedRecoveryCodes(userId: string) {
    const row = await this.#db
      .selectFrom('mfa_recovery_codes')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('used_ts', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async deleteRecoveryCodes(userId: string) {
    const result = await this.#db.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function credentialFromRow(row: Database['mfa_webauthn_credentials']): WebAuthnCredentialRecord {
  return {
    credentialId: row.credential_id,
    userId: row.user_id,
    publicKey: row.public_key,
    signCount: row.sign_count,
    transports: JSON.parse(row.transports) as string[],
    createdTs: row.created_ts,
    lastUsedTs: row.last_used_ts,
  };
}

/** Where a finished sign-in goes next, e.g. `{ kind: 'sso', redirectUrl }`; the page treats it as opaque. */
export type SignInCompletion = { kind: string } & Record<string, string>;

export interface SignInFlowRecord {
  flowHash: string;
  csrfToken: string;
  stage: string;
  userId: string | null;
  completion: SignInCompletion;
  state: Record<string, string>;
  createdTs: number;
  expiresTs: number;
}

export interface SignInStore {
  createFlow(flow: SignInFlowRecord): Promise<void>;
  getFlow(flowHash: string): Promise<SignInFlowRecord | undefined>;
  updateFlow(flowHash: string, change: { stage: string; userId: string | null; state: Record<string, string> }): Promise<void>;
  deleteFlow(flowHash: string): Promise<void>;
  deleteExpiredFlows(now: number): Promise<void>;

  insertLoginToken(tokenHash: string, userId: string, now: number, expiresTs: number): Promise<void>;
  /** Deletes the token and returns what it was for: whoever deletes it first is the only one to use it. */
  takeLoginToken(tokenHash: string): Promise<{ userId: string; expiresTs: number } | undefined>;
  deleteExpiredLoginTokens(now: number): Promise<void>;
}

export class KyselySignInStore implements SignInStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async createFlow(f: SignInFlowRecord) {
    await this.#db
      .insertInto('sign_in_flows')
      .values({
        flow_hash: f.flowHash,
        csrf_token: f.csrfToken,
        stage: f.stage,
        user_id: f.userId,
        completion: JSON.stringify(f.completion),
        state: JSON.stringify(f.state),
        created_ts: f.createdTs,
        expires_ts: f.expiresTs,
      })
      .execute();
  }

  async getFlow(flowHash: string) {
    const row = await this.#db.selectFrom('sign_in_flows').selectAll().where('flow_hash', '=', flowHash).executeTakeFirst();
    return (
      row && {
        flowHash: row.flow_hash,
        csrfToken: row.csrf_token,
        stage: row.stage,
        userId: row.user_id,
        completion: JSON.parse(row.completion) as SignInCompletion,
        state: JSON.parse(row.state) as Record<string, string>,
        createdTs: row.created_ts,
        expiresTs: row.expires_ts,
      }
    );
  }

  async updateFlow(flowHash: string, change: { stage: string; userId: string | null; state: Record<string, string> }) {
    await this.#db
      .updateTable('sign_in_flows')
      .set({ stage: change.stage, user_id: change.userId, state: JSON.stringify(change.state) })
      .where('flow_hash', '=', flowHash)
      .execute();
  }

  async deleteFlow(flowHash: string) {
    await this.#db.deleteFrom('sign_in_flows').where('flow_hash', '=', flowHash).execute();
  }

  async deleteExpiredFlows(now: number) {
    await this.#db.deleteFrom('sign_in_flows').where('expires_ts', '<', now).execute();
  }

  async insertLoginToken(tokenHash: string, userId: string, now: number, expiresTs: number) {
    await this.#db.insertInto('login_tokens').values({ token_hash: tokenHash, user_id: userId, created_ts: now, expires_ts: expiresTs }).execute();
  }

  async takeLoginToken(tokenHash: string) {
    const row = await this.#db.deleteFrom('login_tokens').where('token_hash', '=', tokenHash).returning(['user_id', 'expires_ts']).executeTakeFirst();
    return row && { userId: row.user_id, expiresTs: row.expires_ts };
  }

  async deleteExpiredLoginTokens(now: number) {
    await this.#db.deleteFrom('login_tokens').where('expires_ts', '<', now).execute();
  }
}

/** Links between an upstream identity provider's subjects and accounts here (migration 015). */
export interface UpstreamIdpLinkStore {
  userOf(issuer: string, subject: string): Promise<string | undefined>;
  subjectOf(issuer: string, userId: string): Promise<string | undefined>;
  /** Links the subject to the account; false when either is already linked (to something else). */
  link(issuer: string, subject: string, userId: string, now: number): Promise<boolean>;
  touch(issuer: string, subject: string, now: number): Promise<void>;
}

export class KyselyUpstreamIdpLinkStore implements UpstreamIdpLinkStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async userOf(issuer: string, subject: string) {
    const row = await this.#db.selectFrom('upstream_idp_links').select('user_id').where('issuer', '=', issuer).where('subject', '=', subject).executeTakeFirst();
    return row?.user_id;
  }

  async subjectOf(issuer: string, userId: string) {
    const row = await this.#db.selectFrom('upstream_idp_links').select('subject').where('issuer', '=', issuer).where('user_id', '=', userId).executeTakeFirst();
    return row?.subject;
  }

  async link(issuer: string, subject: string, userId: string, now: number) {
    const result = await this.#db
      .insertInto('upstream_idp_links')
      .values({ issuer, subject, user_id: userId, created_ts: now, last_login_ts: now })
      .onConflict((oc) => oc.doNothing())
      .returning('subject')
      .executeTakeFirst();
    return result !== undefined;
  }

  async touch(issuer: string, subject: string, now: number) {
    await this.#db.updateTable('upstream_idp_links').set({ last_login_ts: now }).where('issuer', '=', issuer).where('subject', '=', subject).execute();
  }
}
