/**
 * End-to-end encryption keys as the clients uploaded them (JSON text, so signatures still verify),
 * and the stream of users whose keys changed.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface DeviceKeysRow {
  userId: string;
  deviceId: string;
  keyJson: string;
  displayName: string | null;
}

export interface OneTimeKeyInput {
  algorithm: string;
  keyId: string;
  keyJson: string;
}

export interface SignatureRow {
  targetUserId: string;
  targetKeyId: string;
  signerUserId: string;
  signerKeyId: string;
  signature: string;
}

export interface KeyStore {
  getDeviceKeys(userId: string, deviceId: string): Promise<string | undefined>;
  putDeviceKeys(userId: string, deviceId: string, keyJson: string, now: number): Promise<void>;
  /** Keys of every device of these users that has uploaded some, with the device's display name. */
  deviceKeysOf(userIds: readonly string[]): Promise<DeviceKeysRow[]>;

  /** The stored JSON of those of `keys` (algorithm, key id) that already exist. */
  existingOneTimeKeys(userId: string, deviceId: string, keys: readonly { algorithm: string; keyId: string }[]): Promise<Map<string, string>>;
  /** Inserts the keys; a key id already present is left as it is. */
  insertOneTimeKeys(userId: string, deviceId: string, keys: readonly OneTimeKeyInput[]): Promise<void>;
  countOneTimeKeys(userId: string, deviceId: string): Promise<Record<string, number>>;
  /** Removes and returns one unclaimed key: a key is handed to exactly one caller, even under concurrency. */
  claimOneTimeKey(userId: string, deviceId: string, algorithm: string): Promise<{ keyId: string; keyJson: string } | undefined>;

  getFallbackKey(userId: string, deviceId: string, algorithm: string): Promise<{ keyId: string; keyJson: string; used: boolean } | undefined>;
  /** Replaces the device's fallback key of that algorithm, as unused. */
  putFallbackKey(userId: string, deviceId: string, key: OneTimeKeyInput): Promise<void>;
  /** Returns the fallback key (used or not) and marks it used. */
  claimFallbackKey(userId: string, deviceId: string, algorithm: string): Promise<{ keyId: string; keyJson: string } | undefined>;
  unusedFallbackKeyTypes(userId: string, deviceId: string): Promise<string[]>;

  /** key type ("master", "self_signing", "user_signing") → stored JSON. */
  crossSigningKeys(userId: string): Promise<Record<string, string>>;
  putCrossSigningKey(userId: string, keyType: string, keyJson: string, now: number): Promise<void>;

  putSignature(row: SignatureRow): Promise<void>;
  signaturesOn(targetUserIds: readonly string[]): Promise<SignatureRow[]>;

  recordDeviceListChange(userId: string, streamId: number): Promise<void>;
  /** Users whose devices or keys changed at positions in (after, upTo]. */
  usersChangedBetween(after: number, upTo: number): Promise<string[]>;
}

const CLAIM_ROUNDS = 8;
const CLAIM_CANDIDATES = 16;

export class KyselyKeyStore implements KeyStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async getDeviceKeys(userId: string, deviceId: string) {
    const row = await this.#db
      .selectFrom('e2e_device_keys')
      .select('key_json')
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return row?.key_json;
  }

  async putDeviceKeys(userId: string, deviceId: string, keyJson: string, now: number) {
    await this.#db
      .insertInto('e2e_device_keys')
      .values({ user_id: userId, device_id: deviceId, key_json: keyJson, created_ts: now })
      .onConflict((oc) => oc.columns(['user_id', 'device_id']).doUpdateSet({ key_json: keyJson }))
      .execute();
  }

  async deviceKeysOf(userIds: readonly string[]) {
    if (userIds.length === 0) return [];
    const rows = await this.#db
      .selectFrom('e2e_device_keys as k')
      .innerJoin('devices as d', (j) => j.onRef('d.user_id', '=', 'k.user_id').onRef('d.device_id', '=', 'k.device_id'))
      .select(['k.user_id', 'k.device_id', 'k.key_json', 'd.display_name'])
      .where('k.user_id', 'in', userIds)
      .execute();
    return rows.map((r) => ({ userId: r.user_id, deviceId: r.device_id, keyJson: r.key_json, displayName: r.display_name }));
  }

  async existingOneTimeKeys(userId: string, deviceId: string, keys: readonly { algorithm: string; keyId: string }[]) {
    const found = new Map<string, string>();
    if (keys.length === 0) return found;
    const rows = await this.#db
      .selectFrom('e2e_one_time_keys')
      .select(['algorithm', 'key_id', 'key_json'])
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .where('key_id', 'in', [...new Set(keys.map((k) => k.keyId))])
      .execute();
    for (const r of rows) found.set(`${r.algorithm}:${r.key_id}`, r.key_json);
    return found;
  }

  async insertOneTimeKeys(userId: string, deviceId: string, keys: readonly OneTimeKeyInput[]) {
    if (keys.length === 0) return;
    await this.#db
      .insertInto('e2e_one_time_keys')
      .values(keys.map((k) => ({ user_id: userId, device_id: deviceId, algorithm: k.algorithm, key_id: k.keyId, key_json: k.keyJson })))
      .onConflict((oc) => oc.columns(['user_id', 'device_id', 'algorithm', 'key_id']).doNothing())
      .execute();
  }

  async countOneTimeKeys(userId: string, deviceId: string) {
    // Every /sync answer asks (as does the next one): a plain template, the query builder costs several times the query.
    const { rows } = await sql<{ algorithm: string; n: number | string | bigint }>`
      select algorithm, count(*) as n from e2e_one_time_keys where user_id = ${userId} and device_id = ${deviceId} group by algorithm`.execute(this.#db);
    return Object.fromEntries(rows.map((r) => [r.algorithm, Number(r.n)]));
  }

  async claimOneTimeKey(userId: string, deviceId: string, algorithm: string) {
    // Pick candidates, then delete exactly one row: only the caller whose DELETE removed it gets it.
    // Concurrent claimers try the candidates in different orders, and one that loses a race tries the next.
    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      const candidates = await this.#db
        .selectFrom('e2e_one_time_keys')
        .select('key_id')
        .where('user_id', '=', userId)
        .where('device_id', '=', deviceId)
        .where('algorithm', '=', algorithm)
        .orderBy('key_id')
        .limit(CLAIM_CANDIDATES)
        .execute();
      if (candidates.length === 0) return undefined;
      const start = Math.floor(Math.random() * candidates.length);
      for (let i = 0; i < candidates.length; i++) {
        const claimed = await this.#db
          .deleteFrom('e2e_one_time_keys')
          .where('user_id', '=', userId)
          .where('device_id', '=', deviceId)
          .where('algorithm', '=', algorithm)
          .where('key_id', '=', candidates[(start + i) % candidates.length]!.key_id)
          .returning(['key_id', 'key_json'])
          .executeTakeFirst();
        if (claimed) return { keyId: claimed.key_id, keyJson: claimed.key_json };
      }
    }
    return undefined;
  }

  async getFallbackKey(userId: string, deviceId: string, algorithm: string) {
    const row = await this.#db
      .selectFrom('e2e_fallback_keys')
      .select(['key_id', 'key_json', 'used'])
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .where('algorithm', '=', algorithm)
      .executeTakeFirst();
    return row && { keyId: row.key_id, keyJson: row.key_json, used: Number(row.used) !== 0 };
  }

  async putFallbackKey(userId: string, deviceId: string, key: OneTimeKeyInput) {
    await this.#db
      .insertInto('e2e_fallback_keys')
      .values({ user_id: userId, device_id: deviceId, algorithm: key.algorithm, key_id: key.keyId, key_json: key.keyJson, used: 0 })
      .onConflict((oc) => oc.columns(['user_id', 'device_id', 'algorithm']).doUpdateSet({ key_id: key.keyId, key_json: key.keyJson, used: 0 }))
      .execute();
  }

  async claimFallbackKey(userId: string, deviceId: string, algorithm: string) {
    const row = await this.#db
      .updateTable('e2e_fallback_keys')
      .set({ used: 1 })
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .where('algorithm', '=', algorithm)
      .returning(['key_id', 'key_json'])
      .executeTakeFirst();
    return row && { keyId: row.key_id, keyJson: row.key_json };
  }

  async unusedFallbackKeyTypes(userId: string, deviceId: string) {
    const { rows } = await sql<{ algorithm: string }>`
      select algorithm from e2e_fallback_keys where user_id = ${userId} and device_id = ${deviceId} and used = 0 order by algorithm`.execute(this.#db);
    return rows.map((r) => r.algorithm);
  }

  async crossSigningKeys(userId: string) {
    const rows = await this.#db.selectFrom('e2e_cross_signing_keys').select(['key_type', 'key_json']).where('user_id', '=', userId).execute();
    return Object.fromEntries(rows.map((r) => [r.key_type, r.key_json]));
  }

  async putCrossSigningKey(userId: string, keyType: string, keyJson: string, now: number) {
    await this.#db
      .insertInto('e2e_cross_signing_keys')
      .values({ user_id: userId, key_type: keyType, key_json: keyJson, created_ts: now })
      .onConflict((oc) => oc.columns(['user_id', 'key_type']).doUpdateSet({ key_json: keyJson, created_ts: now }))
      .execute();
  }

  async putSignature(row: SignatureRow) {
    await this.#db
      .insertInto('e2e_signatures')
      .values({
        target_user_id: row.targetUserId,
        target_key_id: row.targetKeyId,
        signer_user_id: row.signerUserId,
        signer_key_id: row.signerKeyId,
        signature: row.signature,
      })
      .onConflict((oc) => oc.columns(['target_user_id', 'target_key_id', 'signer_user_id', 'signer_key_id']).doUpdateSet({ signature: row.signature }))
      .execute();
  }

  async signaturesOn(targetUserIds: readonly string[]) {
    if (targetUserIds.length === 0) return [];
    const rows = await this.#db.selectFrom('e2e_signatures').selectAll().where('target_user_id', 'in', targetUserIds).execute();
    return rows.map((r) => ({
      targetUserId: r.target_user_id,
      targetKeyId: r.target_key_id,
      signerUserId: r.signer_user_id,
      signerKeyId: r.signer_key_id,
      signature: r.signature,
    }));
  }

  async recordDeviceListChange(userId: string, streamId: number) {
    await this.#db.insertInto('device_list_changes').values({ stream_id: streamId, user_id: userId }).execute();
  }

  async usersChangedBetween(after: number, upTo: number) {
    const rows = await this.#db
      .selectFrom('device_list_changes')
      .select('user_id')
      .distinct()
      .where('stream_id', '>', after)
      .where('stream_id', '<=', upTo)
      .execute();
    return rows.map((r) => r.user_id);
  }
}
