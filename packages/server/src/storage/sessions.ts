/** Devices and the tokens that authenticate them. Tokens are stored only as SHA-256 hashes. */
import { sql, type Kysely } from 'kysely';
import type { Database, DevicesTable } from './schema.ts';

export interface DeviceRecord {
  userId: string;
  deviceId: string;
  displayName: string | null;
  createdTs: number;
  lastSeenTs: number | null;
  lastSeenIp: string | null;
  lastSeenUserAgent: string | null;
}

export interface AccessTokenRecord {
  userId: string;
  deviceId: string;
  createdTs: number;
  expiresTs: number | null;
}

export interface RefreshTokenRecord {
  userId: string;
  deviceId: string;
  createdTs: number;
  usedTs: number | null;
}

export interface SessionStore {
  getDevice(userId: string, deviceId: string): Promise<DeviceRecord | undefined>;
  listDevices(userId: string): Promise<DeviceRecord[]>;
  /** Creates the device, or keeps an existing one (a login naming its device id again). */
  upsertDevice(userId: string, deviceId: string, displayName: string | null, now: number): Promise<void>;
  setDeviceDisplayName(userId: string, deviceId: string, displayName: string | null): Promise<boolean>;
  recordDeviceSeen(userId: string, deviceId: string, ts: number, ip: string, userAgent: string | null): Promise<void>;
  /** Deletes devices and every token of theirs. */
  deleteDevices(userId: string, deviceIds: readonly string[]): Promise<void>;
  deleteAllDevices(userId: string, exceptDeviceId?: string): Promise<string[]>;

  insertAccessToken(tokenHash: string, token: AccessTokenRecord): Promise<void>;
  findAccessToken(tokenHash: string): Promise<AccessTokenRecord | undefined>;
  deleteAccessTokensOfDevice(userId: string, deviceId: string): Promise<void>;

  insertRefreshToken(tokenHash: string, token: RefreshTokenRecord): Promise<void>;
  findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined>;
  /** Marks the token used; false when it had been used already (so exactly one exchange wins). */
  markRefreshTokenUsed(tokenHash: string, now: number): Promise<boolean>;
}

const toDevice = (row: DevicesTable): DeviceRecord => ({
  userId: row.user_id,
  deviceId: row.device_id,
  displayName: row.display_name,
  createdTs: row.created_ts,
  lastSeenTs: row.last_seen_ts,
  lastSeenIp: row.last_seen_ip,
  lastSeenUserAgent: row.last_seen_user_agent,
});

export class KyselySessionStore implements SessionStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async getDevice(userId: string, deviceId: string) {
    const row = await this.#db
      .selectFrom('devices')
      .selectAll()
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return row && toDevice(row);
  }

  async listDevices(userId: string) {
    const rows = await this.#db.selectFrom('devices').selectAll().where('user_id', '=', userId).orderBy('created_ts').orderBy('device_id').execute();
    return rows.map(toDevice);
  }

  async upsertDevice(userId: string, deviceId: string, displayName: string | null, now: number) {
    await this.#db
      .insertInto('devices')
      .values({ user_id: userId, device_id: deviceId, display_name: displayName, created_ts: now, last_seen_ts: null, last_seen_ip: null, last_seen_user_agent: null })
      .onConflict((oc) => oc.columns(['user_id', 'device_id']).doNothing())
      .execute();
  }

  async setDeviceDisplayName(userId: string, deviceId: string, displayName: string | null) {
    const result = await this.#db
      .updateTable('devices')
      .set({ display_name: displayName })
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async recordDeviceSeen(userId: string, deviceId: string, ts: number, ip: string, userAgent: string | null) {
    await this.#db
      .updateTable('devices')
      .set({ last_seen_ts: ts, last_seen_ip: ip, last_seen_user_agent: userAgent })
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .execute();
  }

  async deleteDevices(userId: string, deviceIds: readonly string[]) {
    if (deviceIds.length === 0) return;
    for (const table of ['access_tokens', 'refresh_tokens', 'e2e_device_keys', 'e2e_one_time_keys', 'e2e_fallback_keys', 'to_device_messages', 'devices'] as const) {
      await this.#db.deleteFrom(table).where('user_id', '=', userId).where('device_id', 'in', deviceIds).execute();
    }
  }

  async deleteAllDevices(userId: string, exceptDeviceId?: string) {
    let query = this.#db.selectFrom('devices').select('device_id').where('user_id', '=', userId);
    if (exceptDeviceId !== undefined) query = query.where('device_id', '!=', exceptDeviceId);
    const ids = (await query.execute()).map((r) => r.device_id);
    // Tokens without a device row (should not exist) are swept too.
    for (const table of ['access_tokens', 'refresh_tokens', 'e2e_device_keys', 'e2e_one_time_keys', 'e2e_fallback_keys', 'to_device_messages', 'devices'] as const) {
      let del = this.#db.deleteFrom(table).where('user_id', '=', userId);
      if (exceptDeviceId !== undefined) del = del.where('device_id', '!=', exceptDeviceId);
      await del.execute();
    }
    return ids;
  }

  async insertAccessToken(tokenHash: string, token: AccessTokenRecord) {
    await this.#db
      .insertInto('access_tokens')
      .values({ token_hash: tokenHash, user_id: token.userId, device_id: token.deviceId, created_ts: token.createdTs, expires_ts: token.expiresTs })
      .execute();
  }

  async findAccessToken(tokenHash: string) {
    // Every authenticated request: a plain template rather than the query builder.
    const { rows } = await sql<{ user_id: string; device_id: string; created_ts: number; expires_ts: number | null }>`
      select user_id, device_id, created_ts, expires_ts from access_tokens where token_hash = ${tokenHash}`.execute(this.#db);
    const row = rows[0];
    return row && { userId: row.user_id, deviceId: row.device_id, createdTs: Number(row.created_ts), expiresTs: row.expires_ts === null ? null : Number(row.expires_ts) };
  }

  async deleteAccessTokensOfDevice(userId: string, deviceId: string) {
    await this.#db.deleteFrom('access_tokens').where('user_id', '=', userId).where('device_id', '=', deviceId).execute();
  }

  async insertRefreshToken(tokenHash: string, token: RefreshTokenRecord) {
    await this.#db
      .insertInto('refresh_tokens')
      .values({ token_hash: tokenHash, user_id: token.userId, device_id: token.deviceId, created_ts: token.createdTs, used_ts: token.usedTs })
      .execute();
  }

  async findRefreshToken(tokenHash: string) {
    const row = await this.#db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row && { userId: row.user_id, deviceId: row.device_id, createdTs: row.created_ts, usedTs: row.used_ts };
  }

  async markRefreshTokenUsed(tokenHash: string, now: number) {
    const result = await this.#db
      .updateTable('refresh_tokens')
      .set({ used_ts: now })
      .where('token_hash', '=', tokenHash)
      .where('used_ts', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
