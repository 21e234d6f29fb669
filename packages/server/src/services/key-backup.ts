/**
 * Server-side key backups (spec: "Server-side key backups", /room_keys): a user keeps encrypted
 * copies of their megolm session keys on the server, in numbered backup versions. The server
 * cannot read them: it stores auth_data and session_data verbatim and only compares the clear
 * metadata (is_verified, first_message_index, forwarded_count) to keep the better copy of a session.
 */
import { MatrixError } from '@caduceus/core';
import type { Storage, Stores } from '../storage/index.ts';
import type { BackupSessionRow, BackupVersionRow } from '../storage/key-backup.ts';
import type { ServiceDeps } from './index.ts';
import type { Clock } from './clock.ts';

type Json = Record<string, unknown>;

/** KeyBackupData as the spec defines it. */
export interface KeyBackupData {
  first_message_index: number;
  forwarded_count: number;
  is_verified: boolean;
  session_data: Json;
}

export interface RoomKeyBackup {
  sessions: Record<string, KeyBackupData>;
}

export interface BackupInfo {
  algorithm: string;
  auth_data: Json;
  version: string;
  count: number;
  etag: string;
}

export interface KeysUpdate {
  etag: string;
  count: number;
}

/** Largest session_data accepted, as serialized JSON. */
export const MAX_SESSION_DATA_BYTES = 64 * 1024;

/** Longest room or session ID accepted. */
const MAX_ID_LENGTH = 255;

const unknownVersion = () => new MatrixError('M_NOT_FOUND', 'Unknown backup version');

/** Versions are decimal integers we handed out; anything else names no backup. */
function parseVersion(version: string): number | undefined {
  return /^[1-9][0-9]{0,14}$/.test(version) ? Number(version) : undefined;
}

function toKeyBackupData(row: BackupSessionRow): KeyBackupData {
  return {
    first_message_index: row.firstMessageIndex,
    forwarded_count: row.forwardedCount,
    is_verified: row.isVerified,
    session_data: JSON.parse(row.sessionData) as Json,
  };
}

export class KeyBackupService {
  readonly #storage: Storage;
  readonly #clock: Clock;

  constructor(deps: Pick<ServiceDeps, 'storage' | 'clock'>) {
    this.#storage = deps.storage;
    this.#clock = deps.clock;
  }

  /** POST /room_keys/version: a new backup, which becomes the current one. */
  async createVersion(userId: string, algorithm: string, authData: Json): Promise<{ version: string }> {
    const version = await this.#storage.keyBackup.createVersion(userId, algorithm, JSON.stringify(authData), this.#clock.now());
    return { version: String(version) };
  }

  /** GET /room_keys/version: the current (newest, not deleted) backup. */
  async currentVersion(userId: string): Promise<BackupInfo> {
    return this.#storage.transaction(async (stores) => {
      const current = await stores.keyBackup.currentVersion(userId);
      if (!current) throw new MatrixError('M_NOT_FOUND', 'No current backup version');
      return this.#info(stores, userId, current);
    });
  }

  /** GET /room_keys/version/{version}. */
  async getVersion(userId: string, version: string): Promise<BackupInfo> {
    return this.#storage.transaction(async (stores) => this.#info(stores, userId, await this.#existing(stores, userId, version)));
  }

  /** PUT /room_keys/version/{version}: only auth_data may change. */
  async updateVersion(userId: string, version: string, body: { algorithm: string; auth_data: Json; version?: string | undefined }): Promise<Json> {
    return this.#storage.transaction(async (stores) => {
      const existing = await this.#existing(stores, userId, version);
      if (body.version !== undefined && body.version !== version) {
        throw new MatrixError('M_INVALID_PARAM', 'The version in the body does not match the version in the path');
      }
      if (body.algorithm !== existing.algorithm) throw new MatrixError('M_INVALID_PARAM', 'Algorithm does not match');
      if (!(await stores.keyBackup.updateAuthData(userId, existing.version, JSON.stringify(body.auth_data)))) throw unknownVersion();
      return {};
    });
  }

  /** DELETE /room_keys/version/{version}: the backup and all its keys; deleting it again succeeds. */
  async deleteVersion(userId: string, version: string): Promise<Json> {
    const number = parseVersion(version);
    if (number === undefined) throw unknownVersion();
    return this.#storage.transaction(async (stores) => {
      if (!(await stores.keyBackup.versionEverExisted(userId, number))) throw unknownVersion();
      await stores.keyBackup.deleteVersion(userId, number);
      return {};
    });
  }

  /**
   * PUT /room_keys/keys[/{roomId}[/{sessionId}]]: stores keys in the current backup. A session
   * already backed up is replaced only by a better copy (spec: verified first, then the lower
   * first_message_index, then the lower forwarded_count).
   */
  async putKeys(userId: string, version: string, rooms: Record<string, RoomKeyBackup>): Promise<KeysUpdate> {
    const rows: BackupSessionRow[] = [];
    for (const [roomId, room] of Object.entries(rooms)) {
      if (!roomId.startsWith('!') || roomId.length > MAX_ID_LENGTH) throw new MatrixError('M_INVALID_PARAM', `Invalid room ID: ${roomId.slice(0, 64)}`);
      for (const [sessionId, data] of Object.entries(room.sessions)) {
        if (sessionId.length === 0 || sessionId.length > MAX_ID_LENGTH) throw new MatrixError('M_INVALID_PARAM', 'Invalid session ID');
        const sessionData = JSON.stringify(data.session_data);
        if (Buffer.byteLength(sessionData, 'utf8') > MAX_SESSION_DATA_BYTES) {
          throw new MatrixError('M_TOO_LARGE', `session_data of ${sessionId} is larger than ${MAX_SESSION_DATA_BYTES} bytes`, { status: 413 });
        }
        rows.push({
          roomId,
          sessionId,
          firstMessageIndex: data.first_message_index,
          forwardedCount: data.forwarded_count,
          isVerified: data.is_verified,
          sessionData,
        });
      }
    }
    return this.#storage.transaction(async (stores) => {
      const current = await stores.keyBackup.currentVersion(userId);
      if (!current) throw unknownVersion();
      if (parseVersion(version) !== current.version) {
        throw new MatrixError('M_WRONG_ROOM_KEYS_VERSION', 'Wrong backup version', { status: 403, extra: { current_version: String(current.version) } });
      }
      // The etag bump also fails (rolling back) if the version was deleted meanwhile.
      if ((await stores.keyBackup.putSessions(userId, current.version, rows)) > 0 && !(await stores.keyBackup.bumpEtag(userId, current.version))) {
        throw unknownVersion();
      }
      return this.#update(stores, userId, current.version);
    });
  }

  /** GET /room_keys/keys: every key of the backup, by room. */
  async getAllKeys(userId: string, version: string): Promise<{ rooms: Record<string, RoomKeyBackup> }> {
    const rows = await this.#storage.transaction(async (stores) => {
      const existing = await this.#existing(stores, userId, version);
      return stores.keyBackup.sessions(userId, existing.version);
    });
    const rooms: Record<string, RoomKeyBackup> = {};
    for (const row of rows) (rooms[row.roomId] ??= { sessions: {} }).sessions[row.sessionId] = toKeyBackupData(row);
    return { rooms };
  }

  /** GET /room_keys/keys/{roomId}: the room's keys; `{sessions: {}}` when there are none. */
  async getRoomKeys(userId: string, version: string, roomId: string): Promise<RoomKeyBackup> {
    const rows = await this.#storage.transaction(async (stores) => {
      const existing = await this.#existing(stores, userId, version);
      return stores.keyBackup.sessions(userId, existing.version, roomId);
    });
    return { sessions: Object.fromEntries(rows.map((row) => [row.sessionId, toKeyBackupData(row)])) };
  }

  /** GET /room_keys/keys/{roomId}/{sessionId}: one key, 404 M_NOT_FOUND when not backed up. */
  async getSessionKey(userId: string, version: string, roomId: string, sessionId: string): Promise<KeyBackupData> {
    const rows = await this.#storage.transaction(async (stores) => {
      const existing = await this.#existing(stores, userId, version);
      return stores.keyBackup.sessions(userId, existing.version, roomId, sessionId);
    });
    const row = rows[0];
    if (!row) throw new MatrixError('M_NOT_FOUND', 'Key not found');
    return toKeyBackupData(row);
  }

  /** DELETE /room_keys/keys[/{roomId}[/{sessionId}]]: removes keys from a backup (any existing version). */
  async deleteKeys(userId: string, version: string, roomId?: string, sessionId?: string): Promise<KeysUpdate> {
    return this.#storage.transaction(async (stores) => {
      const existing = await this.#existing(stores, userId, version);
      if ((await stores.keyBackup.deleteSessions(userId, existing.version, roomId, sessionId)) > 0) await stores.keyBackup.bumpEtag(userId, existing.version);
      return this.#update(stores, userId, existing.version);
    });
  }

  async #existing(stores: Stores, userId: string, version: string): Promise<BackupVersionRow> {
    const number = parseVersion(version);
    const existing = number === undefined ? undefined : await stores.keyBackup.getVersion(userId, number);
    if (!existing) throw unknownVersion();
    return existing;
  }

  async #update(stores: Stores, userId: string, version: number): Promise<KeysUpdate> {
    const info = await stores.keyBackup.getVersion(userId, version);
    if (!info) throw unknownVersion();
    return { etag: String(info.etag), count: await stores.keyBackup.countSessions(userId, version) };
  }

  async #info(stores: Stores, userId: string, row: BackupVersionRow): Promise<BackupInfo> {
    return {
      algorithm: row.algorithm,
      auth_data: JSON.parse(row.authData) as Json,
      version: String(row.version),
      count: await stores.keyBackup.countSessions(userId, row.version),
      etag: String(row.etag),
    };
  }
}
