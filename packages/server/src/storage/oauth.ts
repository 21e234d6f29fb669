/**
 * What the OAuth 2.0 authorization server keeps (src/services/oauth): one row per (model, id hash),
 * payload as JSON text. The store never sees an id in the clear: callers pass its hash.
 */
import type { Kysely } from 'kysely';
import type { Database, OauthRecordsTable } from './schema.ts';

export interface OAuthRecord {
  model: string;
  idHash: string;
  payload: string;
  grantId: string | null;
  uid: string | null;
  userCode: string | null;
  userId: string | null;
  deviceId: string | null;
  expiresTs: number | null;
  consumedTs: number | null;
}

export interface OAuthStore {
  /** Inserts or replaces the record (a consumed record stays consumed). */
  upsert(record: OAuthRecord): Promise<void>;
  find(model: string, idHash: string): Promise<OAuthRecord | undefined>;
  findByUid(model: string, uid: string): Promise<OAuthRecord | undefined>;
  findByUserCode(model: string, userCode: string): Promise<OAuthRecord | undefined>;
  consume(model: string, idHash: string, ts: number): Promise<void>;
  destroy(model: string, idHash: string): Promise<void>;
  /** Deletes the records of one model that belong to a grant. */
  revokeByGrantId(model: string, grantId: string): Promise<void>;
  /** Hashes of the records of one model that belong to a grant (e.g. the access tokens, to end them in Matrix too). */
  idHashesOfGrant(model: string, grantId: string): Promise<string[]>;
  /** The grants whose records belong to these devices of a user. */
  grantIdsOfDevices(userId: string, deviceIds: readonly string[]): Promise<string[]>;
  /** Deletes every record (of any model) of these grants. */
  deleteGrants(grantIds: readonly string[]): Promise<void>;
  deleteExpired(now: number): Promise<void>;
}

const toRecord = (row: OauthRecordsTable): OAuthRecord => ({
  model: row.model,
  idHash: row.id_hash,
  payload: row.payload,
  grantId: row.grant_id,
  uid: row.uid,
  userCode: row.user_code,
  userId: row.user_id,
  deviceId: row.device_id,
  expiresTs: row.expires_ts === null ? null : Number(row.expires_ts),
  consumedTs: row.consumed_ts === null ? null : Number(row.consumed_ts),
});

export class KyselyOAuthStore implements OAuthStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async upsert(r: OAuthRecord) {
    const values = {
      model: r.model,
      id_hash: r.idHash,
      payload: r.payload,
      grant_id: r.grantId,
      uid: r.uid,
      user_code: r.userCode,
      user_id: r.userId,
      device_id: r.deviceId,
      expires_ts: r.expiresTs,
      consumed_ts: r.consumedTs,
    };
    const { model: _m, id_hash: _i, consumed_ts: _c, ...changes } = values;
    await this.#db
      .insertInto('oauth_records')
      .values(values)
      .onConflict((oc) => oc.columns(['model', 'id_hash']).doUpdateSet(changes))
      .execute();
  }

  async find(model: string, idHash: string) {
    const row = await this.#db.selectFrom('oauth_records').selectAll().where('model', '=', model).where('id_hash', '=', idHash).executeTakeFirst();
    return row && toRecord(row);
  }

  async findByUid(model: string, uid: string) {
    const row = await this.#db.selectFrom('oauth_records').selectAll().where('model', '=', model).where('uid', '=', uid).executeTakeFirst();
    return row && toRecord(row);
  }

  async findByUserCode(model: string, userCode: string) {
    const row = await this.#db.selectFrom('oauth_records').selectAll().where('model', '=', model).where('user_code', '=', userCode).executeTakeFirst();
    return row && toRecord(row);
  }

  async consume(model: string, idHash: string, ts: number) {
    await this.#db.updateTable('oauth_records').set({ consumed_ts: ts }).where('model', '=', model).where('id_hash', '=', idHash).execute();
  }

  async destroy(model: string, idHash: string) {
    await this.#db.deleteFrom('oauth_records').where('model', '=', model).where('id_hash', '=', idHash).execute();
  }

  async revokeByGrantId(model: string, grantId: string) {
    await this.#db.deleteFrom('oauth_records').where('model', '=', model).where('grant_id', '=', grantId).execute();
  }

  async idHashesOfGrant(model: string, grantId: string) {
    const rows = await this.#db.selectFrom('oauth_records').select('id_hash').where('model', '=', model).where('grant_id', '=', grantId).execute();
    return rows.map((r) => r.id_hash);
  }

  async grantIdsOfDevices(userId: string, deviceIds: readonly string[]) {
    if (deviceIds.length === 0) return [];
    const rows = await this.#db
      .selectFrom('oauth_records')
      .select('grant_id')
      .distinct()
      .where('user_id', '=', userId)
      .where('device_id', 'in', deviceIds)
      .where('grant_id', 'is not', null)
      .execute();
    return rows.map((r) => r.grant_id!);
  }

  async deleteGrants(grantIds: readonly string[]) {
    if (grantIds.length === 0) return;
    await this.#db.deleteFrom('oauth_records').where('grant_id', 'in', grantIds).execute();
  }

  async deleteExpired(now: number) {
    await this.#db.deleteFrom('oauth_records').where('expires_ts', '<=', now).execute();
  }
}
