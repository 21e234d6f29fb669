/** Accounts: identity, password hash, admin flag, profile. */
import type { Kysely } from 'kysely';
import type { Database, UsersTable } from './schema.ts';

export interface UserRecord {
  userId: string;
  localpart: string;
  passwordHash: string | null;
  isAdmin: boolean;
  deactivated: boolean;
  displayname: string | null;
  avatarUrl: string | null;
  createdTs: number;
}

/** What the user directory shows of a user. */
export interface DirectoryEntry {
  userId: string;
  localpart: string;
  displayname: string | null;
  avatarUrl: string | null;
}

export interface NewUser {
  userId: string;
  localpart: string;
  passwordHash: string | null;
  isAdmin: boolean;
  displayname: string | null;
  createdTs: number;
}

export interface UserStore {
  get(userId: string): Promise<UserRecord | undefined>;
  /** Returns false when the user id is taken. */
  create(user: NewUser): Promise<boolean>;
  setPasswordHash(userId: string, passwordHash: string | null): Promise<void>;
  setDeactivated(userId: string): Promise<void>;
  setProfile(userId: string, profile: { displayname?: string | null; avatarUrl?: string | null }): Promise<void>;
  countAdmins(): Promise<number>;
  /** Every user id that is not deactivated (server notices to everyone). */
  listActiveUserIds(): Promise<string[]>;
  /**
   * Active users other than `userId` joined to a room `userId` is joined to, or (unless
   * `publishedRooms` is false) to a room published in the directory.
   */
  sharingRoomsWith(userId: string, options?: { publishedRooms?: boolean }): Promise<DirectoryEntry[]>;
}

const toRecord = (row: UsersTable): UserRecord => ({
  userId: row.user_id,
  localpart: row.localpart,
  passwordHash: row.password_hash,
  isAdmin: row.is_admin === 1,
  deactivated: row.deactivated === 1,
  displayname: row.displayname,
  avatarUrl: row.avatar_url,
  createdTs: row.created_ts,
});

export class KyselyUserStore implements UserStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async get(userId: string) {
    const row = await this.#db.selectFrom('users').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return row && toRecord(row);
  }

  async create(user: NewUser) {
    const result = await this.#db
      .insertInto('users')
      .values({
        user_id: user.userId,
        localpart: user.localpart,
        password_hash: user.passwordHash,
        is_admin: user.isAdmin ? 1 : 0,
        deactivated: 0,
        displayname: user.displayname,
        avatar_url: null,
        created_ts: user.createdTs,
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async setPasswordHash(userId: string, passwordHash: string | null) {
    await this.#db.updateTable('users').set({ password_hash: passwordHash }).where('user_id', '=', userId).execute();
  }

  async setDeactivated(userId: string) {
    await this.#db.updateTable('users').set({ deactivated: 1, password_hash: null }).where('user_id', '=', userId).execute();
  }

  async setProfile(userId: string, profile: { displayname?: string | null; avatarUrl?: string | null }) {
    const changes: Partial<UsersTable> = {};
    if (profile.displayname !== undefined) changes.displayname = profile.displayname;
    if (profile.avatarUrl !== undefined) changes.avatar_url = profile.avatarUrl;
    if (Object.keys(changes).length === 0) return;
    await this.#db.updateTable('users').set(changes).where('user_id', '=', userId).execute();
  }

  async countAdmins() {
    const row = await this.#db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('is_admin', '=', 1)
      .where('deactivated', '=', 0)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async listActiveUserIds() {
    const rows = await this.#db.selectFrom('users').select('user_id').where('deactivated', '=', 0).orderBy('user_id').execute();
    return rows.map((r) => r.user_id);
  }

  async sharingRoomsWith(userId: string, options: { publishedRooms?: boolean } = {}) {
    const shared = this.#db
      .selectFrom('current_state as mine')
      .innerJoin('current_state as theirs', 'theirs.room_id', 'mine.room_id')
      .select('theirs.state_key as user_id')
      .where('mine.type', '=', 'm.room.member')
      .where('mine.state_key', '=', userId)
      .where('mine.membership', '=', 'join')
      .where('theirs.type', '=', 'm.room.member')
      .where('theirs.membership', '=', 'join');
    const published = this.#db
      .selectFrom('current_state as member')
      .innerJoin('rooms as r', 'r.room_id', 'member.room_id')
      .select('member.state_key as user_id')
      .where('r.is_public', '=', 1)
      .where('member.type', '=', 'm.room.member')
      .where('member.membership', '=', 'join');
    const rows = await this.#db
      .selectFrom('users')
      .select(['user_id', 'localpart', 'displayname', 'avatar_url'])
      .where('deactivated', '=', 0)
      .where('user_id', '!=', userId)
      .where('user_id', 'in', options.publishedRooms === false ? shared : shared.union(published))
      .execute();
    return rows.map((r) => ({ userId: r.user_id, localpart: r.localpart, displayname: r.displayname, avatarUrl: r.avatar_url }));
  }
}
