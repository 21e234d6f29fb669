/**
 * What the admin API lists: users and rooms page by page, room membership and counts. Read-only
 * views over the other domains' tables; never event content beyond the state a summary names.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface AdminUserRow {
  userId: string;
  displayname: string | null;
  deactivated: boolean;
  createdTs: number;
}

export interface AdminRoomRow {
  roomId: string;
  creator: string;
  createdTs: number;
  isPublic: boolean;
  blocked: boolean;
  joinedMembers: number;
}

export interface AdminViewStore {
  /** Users ordered by id after `after`, optionally whose id or display name contains `search` (any case). */
  listUsers(options: { search?: string | undefined; after?: string | undefined; limit: number }): Promise<AdminUserRow[]>;
  countUsers(): Promise<{ active: number; deactivated: number }>;
  /** Active users' roles, for the users of one page. */
  rolesOf(userIds: readonly string[]): Promise<Map<string, string[]>>;
  listRooms(options: { after?: string | undefined; limit: number }): Promise<AdminRoomRow[]>;
  countRooms(): Promise<number>;
  /** Rooms whose current state has m.room.encryption. */
  countEncryptedRooms(): Promise<number>;
  /** Current members by membership (join, invite, leave, ban, knock). */
  membershipCounts(roomId: string): Promise<Record<string, number>>;
  countDevices(): Promise<number>;
  /** Active users who can sign in (have a password) and hold no second factor, service accounts aside. */
  usersWithoutSecondFactor(): Promise<string[]>;
}

/** Escapes LIKE wildcards so a search for "50%" finds "50%" and nothing else. */
const likePattern = (search: string) => `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export class KyselyAdminViewStore implements AdminViewStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async listUsers(options: { search?: string | undefined; after?: string | undefined; limit: number }) {
    let query = this.#db.selectFrom('users').select(['user_id', 'displayname', 'deactivated', 'created_ts']);
    if (options.after !== undefined) query = query.where('user_id', '>', options.after);
    if (options.search) {
      const pattern = likePattern(options.search);
      query = query.where((eb) =>
        eb.or([
          eb(sql`lower(user_id)`, 'like', sql`${pattern} escape '\\'`),
          eb(sql`lower(coalesce(displayname, ''))`, 'like', sql`${pattern} escape '\\'`),
        ]),
      );
    }
    const rows = await query.orderBy('user_id').limit(options.limit).execute();
    return rows.map((r) => ({ userId: r.user_id, displayname: r.displayname, deactivated: Number(r.deactivated) === 1, createdTs: Number(r.created_ts) }));
  }

  async countUsers() {
    const rows = await this.#db
      .selectFrom('users')
      .select(['deactivated', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('deactivated')
      .execute();
    const count = (flag: number) => Number(rows.find((r) => Number(r.deactivated) === flag)?.n ?? 0);
    return { active: count(0), deactivated: count(1) };
  }

  async rolesOf(userIds: readonly string[]) {
    const roles = new Map<string, string[]>(userIds.map((id) => [id, []]));
    if (userIds.length === 0) return roles;
    const rows = await this.#db.selectFrom('user_roles').select(['user_id', 'role']).where('user_id', 'in', userIds).orderBy('role').execute();
    for (const row of rows) roles.get(row.user_id)?.push(row.role);
    return roles;
  }

  async listRooms(options: { after?: string | undefined; limit: number }) {
    let query = this.#db
      .selectFrom('rooms as r')
      .leftJoin('current_state as m', (join) => join.onRef('m.room_id', '=', 'r.room_id').on('m.type', '=', 'm.room.member').on('m.membership', '=', 'join'))
      .select(['r.room_id', 'r.creator', 'r.created_ts', 'r.is_public', 'r.blocked', (eb) => eb.fn.count<number>('m.state_key').as('joined')])
      .groupBy(['r.room_id', 'r.creator', 'r.created_ts', 'r.is_public', 'r.blocked']);
    if (options.after !== undefined) query = query.where('r.room_id', '>', options.after);
    const rows = await query.orderBy('r.room_id').limit(options.limit).execute();
    return rows.map((r) => ({
      roomId: r.room_id,
      creator: r.creator,
      createdTs: Number(r.created_ts),
      isPublic: Number(r.is_public) === 1,
      blocked: Number(r.blocked) === 1,
      joinedMembers: Number(r.joined),
    }));
  }

  async countRooms() {
    const row = await this.#db.selectFrom('rooms').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async countEncryptedRooms() {
    const row = await this.#db
      .selectFrom('current_state')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('type', '=', 'm.room.encryption')
      .where('state_key', '=', '')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async membershipCounts(roomId: string) {
    const rows = await this.#db
      .selectFrom('current_state')
      .select(['membership', (eb) => eb.fn.countAll<number>().as('n')])
      .where('room_id', '=', roomId)
      .where('type', '=', 'm.room.member')
      .groupBy('membership')
      .execute();
    return Object.fromEntries(rows.filter((r) => r.membership !== null).map((r) => [r.membership as string, Number(r.n)]));
  }

  async usersWithoutSecondFactor() {
    const rows = await this.#db
      .selectFrom('users as u')
      .select('u.user_id')
      .where('u.deactivated', '=', 0)
      .where('u.password_hash', 'is not', null)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('mfa_totp as t').select('t.user_id').whereRef('t.user_id', '=', 'u.user_id'))))
      .where((eb) => eb.not(eb.exists(eb.selectFrom('mfa_webauthn_credentials as w').select('w.user_id').whereRef('w.user_id', '=', 'u.user_id'))))
      .where((eb) => eb.not(eb.exists(eb.selectFrom('user_roles as r').select('r.user_id').whereRef('r.user_id', '=', 'u.user_id').where('r.role', '=', 'service'))))
      .orderBy('u.user_id')
      .execute();
    return rows.map((r) => r.user_id);
  }

  async countDevices() {
    const row = await this.#db.selectFrom('devices').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
