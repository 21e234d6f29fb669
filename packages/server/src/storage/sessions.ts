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
  /** When the current sign-in began (null for devices from before migration 010: use createdTs). */
  sessionStartedTs: number | null;
}

export interface AccessTokenRecord {
  userId: string;
  deviceId: string;
  createdTs: number;
  expiresTs: number | null;
}

/** An access token with what the session policy needs to know about its device. */
export interface AccessTokenLookup extends AccessTokenRecord {
  /** Null only for a token whose device row is missing (then the session has ended). */
  device: { createdTs: number; sessionStartedTs: number | null; lastSeenTs: number | null } | null;
}

/** Why a session ended; a token of an ended session is remembered with it. */
export type EndReason = 'wipe' | 'deactivated' | 'deleted' | 'logout' | 'password_change' | 'refresh_reuse';

export interface Ending {
  reason: EndReason;
  ts: number;
}

export interface EndedTokenRecord {
  userId: string;
  deviceId: string;
  endedTs: number;
  reason: EndReason;
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
  /** Marks a new sign-in on an existing device: its session lifetime starts again. */
  restartSession(userId: string, deviceId: string, now: number): Promise<void>;
  /** Deletes devices and every token of theirs, remembering the tokens as ended. */
  deleteDevices(userId: string, deviceIds: readonly string[], ending: Ending): Promise<void>;
  deleteAllDevices(userId: string, ending: Ending, exceptDeviceId?: string): Promise<string[]>;

  insertAccessToken(tokenHash: string, token: AccessTokenRecord): Promise<void>;
  findAccessToken(tokenHash: string): Promise<AccessTokenLookup | undefined>;
  deleteAccessTokensOfDevice(userId: string, deviceId: string): Promise<void>;
  deleteRefreshTokensOfDevice(userId: string, deviceId: string): Promise<void>;
  /** A token (access or refresh) of a session that was ended, if it is remembered. */
  findEndedToken(tokenHash: string): Promise<EndedTokenRecord | undefined>;
  /** Forgets ended tokens older than `before`. */
  pruneEndedTokens(before: number): Promise<void>;

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
  sessionStartedTs: row.session_started_ts === null ? null : Number(row.session_started_ts),
});

const TOKEN_TABLES = ['access_tokens', 'refresh_tokens'] as const;
const DEVICE_TABLES = ['access_tokens', 'refresh_tokens', 'e2e_device_keys', 'e2e_one_time_keys', 'e2e_fallback_keys', 'to_device_messages', 'devices'] as const;
const nullableNumber = (v: unknown) => (v === null || v === undefined ? null : Number(v));

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
      .values({ user_id: userId, device_id: deviceId, display_name: displayName, created_ts: now, last_seen_ts: null, last_seen_ip: null, last_seen_user_agent: null, session_started_ts: now })
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

  async restartSession(userId: string, deviceId: string, now: number) {
    await this.#db.updateTable('devices').set({ session_started_ts: now }).where('user_id', '=', userId).where('device_id', '=', deviceId).execute();
  }

  async deleteDevices(userId: string, deviceIds: readonly string[], ending: Ending) {
    if (deviceIds.length === 0) return;
    await this.#rememberEnded(ending, userId, { only: deviceIds });
    for (const table of DEVICE_TABLES) {
      await this.#db.deleteFrom(table).where('user_id', '=', userId).where('device_id', 'in', deviceIds).execute();
    }
  }

  async deleteAllDevices(userId: string, ending: Ending, exceptDeviceId?: string) {
    let query = this.#db.selectFrom('devices').select('device_id').where('user_id', '=', userId);
    if (exceptDeviceId !== undefined) query = query.where('device_id', '!=', exceptDeviceId);
    const ids = (await query.execute()).map((r) => r.device_id);
    await this.#rememberEnded(ending, userId, { except: exceptDeviceId });
    // Tokens without a device row (should not exist) are swept too.
    for (const table of DEVICE_TABLES) {
      let del = this.#db.deleteFrom(table).where('user_id', '=', userId);
      if (exceptDeviceId !== undefined) del = del.where('device_id', '!=', exceptDeviceId);
      await del.execute();
    }
    return ids;
  }

  /** Copies the hashes of the tokens about to be deleted into ended_tokens. */
  async #rememberEnded(ending: Ending, userId: string, devices: { only?: readonly string[]; except?: string | undefined }) {
    for (const table of TOKEN_TABLES) {
      let select = this.#db
        .selectFrom(table)
        .select(['token_hash', 'user_id', 'device_id', sql<number>`cast(${ending.ts} as bigint)`.as('ended_ts'), sql<string>`cast(${ending.reason} as text)`.as('reason')])
        .where('user_id', '=', userId);
      if (devices.only) select = select.where('device_id', 'in', devices.only);
      if (devices.except !== undefined) select = select.where('device_id', '!=', devices.except);
      await this.#db
        .insertInto('ended_tokens')
        .columns(['token_hash', 'user_id', 'device_id', 'ended_ts', 'reason'])
        .expression(select)
        .onConflict((oc) => oc.column('token_hash').doNothing())
        .execute();
    }
  }

  async insertAccessToken(tokenHash: string, token: AccessTokenRecord) {
    await this.#db
      .insertInto('access_tokens')
      .values({ token_hash: tokenHash, user_id: token.userId, device_id: token.deviceId, created_ts: token.createdTs, expires_ts: token.expiresTs })
      .execute();
  }

  async findAccessToken(tokenHash: string): Promise<AccessTokenLookup | undefined> {
    // Every authenticated request: a plain template rather than the query builder.
    const { rows } = await sql<{
      user_id: string;
      device_id: string;
      created_ts: number;
      expires_ts: number | null;
      device_created_ts: number | null;
      session_started_ts: number | null;
      last_seen_ts: number | null;
    }>`
      select t.user_id, t.device_id, t.created_ts, t.expires_ts,
             d.created_ts as device_created_ts, d.session_started_ts, d.last_seen_ts
      from access_tokens t left join devices d on d.user_id = t.user_id and d.device_id = t.device_id
      where t.token_hash = ${tokenHash}`.execute(this.#db);
    const row = rows[0];
    return (
      row && {
        userId: row.user_id,
        deviceId: row.device_id,
        createdTs: Number(row.created_ts),
        expiresTs: nullableNumber(row.expires_ts),
        device:
          row.device_created_ts === null
            ? null
            : { createdTs: Number(row.device_created_ts), sessionStartedTs: nullableNumber(row.session_started_ts), lastSeenTs: nullableNumber(row.last_seen_ts) },
      }
    );
  }

  async deleteRefreshTokensOfDevice(userId: string, deviceId: string) {
    await this.#db.deleteFrom('refresh_tokens').where('user_id', '=', userId).where('device_id', '=', deviceId).execute();
  }

  async findEndedToken(tokenHash: string): Promise<EndedTokenRecord | undefined> {
    const row = await this.#db.selectFrom('ended_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row && { userId: row.user_id, deviceId: row.device_id, endedTs: Number(row.ended_ts), reason: row.reason as EndReason };
  }

  async pruneEndedTokens(before: number) {
    await this.#db.deleteFrom('ended_tokens').where('ended_ts', '<', before).execute();
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
