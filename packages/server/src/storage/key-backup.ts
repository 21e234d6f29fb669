/**
 * Server-side key backups: backup versions per user and the session keys stored in them, kept as
 * the client sent them (the server cannot read them).
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface BackupVersionRow {
  version: number;
  algorithm: string;
  authData: string;
  etag: number;
}

export interface BackupSessionRow {
  roomId: string;
  sessionId: string;
  firstMessageIndex: number;
  forwardedCount: number;
  isVerified: boolean;
  sessionData: string;
}

export interface KeyBackupStore {
  /** The user's newest version that is not deleted. */
  currentVersion(userId: string): Promise<BackupVersionRow | undefined>;
  /** That version, unless it does not exist or was deleted. */
  getVersion(userId: string, version: number): Promise<BackupVersionRow | undefined>;
  /** Whether the version ever existed (deleted or not). */
  versionEverExisted(userId: string, version: number): Promise<boolean>;
  /** A new version, higher than every earlier one of the user (deleted ones included). */
  createVersion(userId: string, algorithm: string, authData: string, now: number): Promise<number>;
  /** False if the version does not exist or was deleted. */
  updateAuthData(userId: string, version: number, authData: string): Promise<boolean>;
  /** Marks the version deleted and removes its keys; false if it did not exist or was already deleted. */
  deleteVersion(userId: string, version: number): Promise<boolean>;
  /**
   * Stores the keys, each replacing a stored key of the same session only when better (verified,
   * then lower first_message_index, then lower forwarded_count). Returns how many rows were written.
   */
  putSessions(userId: string, version: number, sessions: readonly BackupSessionRow[]): Promise<number>;
  /** Bumps the version's etag; false if the version is gone (deleted meanwhile). */
  bumpEtag(userId: string, version: number): Promise<boolean>;
  countSessions(userId: string, version: number): Promise<number>;
  sessions(userId: string, version: number, roomId?: string, sessionId?: string): Promise<BackupSessionRow[]>;
  /** Removes keys of the version (all, a room's, or one session's); returns how many. */
  deleteSessions(userId: string, version: number, roomId?: string, sessionId?: string): Promise<number>;
}

/** Rows per INSERT: 8 parameters each stays far below SQLite's parameter limit. */
const INSERT_CHUNK = 500;
const CREATE_ATTEMPTS = 5;

type VersionSelect = { version: number; algorithm: string; auth_data: string; etag: number };
const toVersion = (r: VersionSelect): BackupVersionRow => ({ version: Number(r.version), algorithm: r.algorithm, authData: r.auth_data, etag: Number(r.etag) });

export class KyselyKeyBackupStore implements KeyBackupStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async currentVersion(userId: string) {
    const row = await this.#db
      .selectFrom('key_backup_versions')
      .select(['version', 'algorithm', 'auth_data', 'etag'])
      .where('user_id', '=', userId)
      .where('deleted', '=', 0)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toVersion(row);
  }

  async getVersion(userId: string, version: number) {
    const row = await this.#db
      .selectFrom('key_backup_versions')
      .select(['version', 'algorithm', 'auth_data', 'etag'])
      .where('user_id', '=', userId)
      .where('version', '=', version)
      .where('deleted', '=', 0)
      .executeTakeFirst();
    return row && toVersion(row);
  }

  async versionEverExisted(userId: string, version: number) {
    const row = await this.#db.selectFrom('key_backup_versions').select('version').where('user_id', '=', userId).where('version', '=', version).executeTakeFirst();
    return row !== undefined;
  }

  async createVersion(userId: string, algorithm: string, authData: string, now: number) {
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      const top = await this.#db
        .selectFrom('key_backup_versions')
        .select((eb) => eb.fn.max('version').as('top'))
        .where('user_id', '=', userId)
        .executeTakeFirst();
      const version = Number(top?.top ?? 0) + 1;
      // Two creations at once may pick the same number: the loser tries the next one.
      const inserted = await this.#db
        .insertInto('key_backup_versions')
        .values({ user_id: userId, version, algorithm, auth_data: authData, etag: 0, deleted: 0, created_ts: now })
        .onConflict((oc) => oc.columns(['user_id', 'version']).doNothing())
        .returning('version')
        .executeTakeFirst();
      if (inserted) return version;
    }
    throw new Error('could not allocate a key backup version');
  }

  async updateAuthData(userId: string, version: number, authData: string) {
    const result = await this.#db
      .updateTable('key_backup_versions')
      .set({ auth_data: authData })
      .where('user_id', '=', userId)
      .where('version', '=', version)
      .where('deleted', '=', 0)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async deleteVersion(userId: string, version: number) {
    const result = await this.#db
      .updateTable('key_backup_versions')
      .set({ deleted: 1 })
      .where('user_id', '=', userId)
      .where('version', '=', version)
      .where('deleted', '=', 0)
      .executeTakeFirst();
    await this.deleteSessions(userId, version);
    return Number(result.numUpdatedRows) > 0;
  }

  async putSessions(userId: string, version: number, sessions: readonly BackupSessionRow[]) {
    let written = 0;
    for (let i = 0; i < sessions.length; i += INSERT_CHUNK) {
      const rows = sessions.slice(i, i + INSERT_CHUNK).map((s) => ({
        user_id: userId,
        version,
        room_id: s.roomId,
        session_id: s.sessionId,
        first_message_index: s.firstMessageIndex,
        forwarded_count: s.forwardedCount,
        is_verified: s.isVerified ? 1 : 0,
        session_data: s.sessionData,
      }));
      const result = await this.#db
        .insertInto('key_backup_sessions')
        .values(rows)
        .onConflict((oc) =>
          oc
            .columns(['user_id', 'version', 'room_id', 'session_id'])
            .doUpdateSet((eb) => ({
              first_message_index: eb.ref('excluded.first_message_index'),
              forwarded_count: eb.ref('excluded.forwarded_count'),
              is_verified: eb.ref('excluded.is_verified'),
              session_data: eb.ref('excluded.session_data'),
            }))
            // The stored key is replaced only by a better one, decided in the database so that
            // concurrent uploads cannot replace a better key with a worse one.
            .where((eb) =>
              eb.or([
                eb('excluded.is_verified', '>', eb.ref('key_backup_sessions.is_verified')),
                eb.and([
                  eb('excluded.is_verified', '=', eb.ref('key_backup_sessions.is_verified')),
                  eb.or([
                    eb('excluded.first_message_index', '<', eb.ref('key_backup_sessions.first_message_index')),
                    eb.and([
                      eb('excluded.first_message_index', '=', eb.ref('key_backup_sessions.first_message_index')),
                      eb('excluded.forwarded_count', '<', eb.ref('key_backup_sessions.forwarded_count')),
                    ]),
                  ]),
                ]),
              ]),
            ),
        )
        .returning('session_id')
        .execute();
      written += result.length;
    }
    return written;
  }

  async bumpEtag(userId: string, version: number) {
    const result = await this.#db
      .updateTable('key_backup_versions')
      .set((eb) => ({ etag: eb('etag', '+', 1) }))
      .where('user_id', '=', userId)
      .where('version', '=', version)
      .where('deleted', '=', 0)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async countSessions(userId: string, version: number) {
    const row = await this.#db
      .selectFrom('key_backup_sessions')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('user_id', '=', userId)
      .where('version', '=', version)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async sessions(userId: string, version: number, roomId?: string, sessionId?: string) {
    let query = this.#db
      .selectFrom('key_backup_sessions')
      .select(['room_id', 'session_id', 'first_message_index', 'forwarded_count', 'is_verified', 'session_data'])
      .where('user_id', '=', userId)
      .where('version', '=', version);
    if (roomId !== undefined) query = query.where('room_id', '=', roomId);
    if (sessionId !== undefined) query = query.where('session_id', '=', sessionId);
    const rows = await query.orderBy('room_id').orderBy('session_id').execute();
    return rows.map((r) => ({
      roomId: r.room_id,
      sessionId: r.session_id,
      firstMessageIndex: Number(r.first_message_index),
      forwardedCount: Number(r.forwarded_count),
      isVerified: Number(r.is_verified) !== 0,
      sessionData: r.session_data,
    }));
  }

  async deleteSessions(userId: string, version: number, roomId?: string, sessionId?: string) {
    let query = this.#db.deleteFrom('key_backup_sessions').where('user_id', '=', userId).where('version', '=', version);
    if (roomId !== undefined) query = query.where('room_id', '=', roomId);
    if (sessionId !== undefined) query = query.where('session_id', '=', sessionId);
    const result = await query.executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
