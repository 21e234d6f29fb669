/** Rooms, their aliases, and the public room directory. */
import type { Kysely, Selectable } from 'kysely';
import type { Database } from './schema.ts';

export interface RoomRecord {
  roomId: string;
  roomVersion: string;
  creator: string;
  createdTs: number;
  isPublic: boolean;
}

/** A room published in the directory, with what its directory entry is made of. */
export interface PublishedRoom {
  roomId: string;
  joinedMembers: number;
  /** The event JSON of each requested state type (state key ""), when the room has one. */
  state: Map<string, string>;
}

export interface RoomStore {
  create(room: RoomRecord): Promise<void>;
  get(roomId: string): Promise<RoomRecord | undefined>;
  setPublic(roomId: string, isPublic: boolean): Promise<void>;
  /** Blocks or unblocks a room (admin); false when the room does not exist. */
  setBlocked(roomId: string, blocked: boolean): Promise<boolean>;
  isBlocked(roomId: string): Promise<boolean>;
  /** Every published room with its joined-member count and the current state events (state key "") of `types`. */
  listPublished(types: readonly string[]): Promise<PublishedRoom[]>;

  createAlias(alias: string, roomId: string, creator: string, now: number): Promise<boolean>;
  resolveAlias(alias: string): Promise<{ roomId: string; creator: string } | undefined>;
  deleteAlias(alias: string): Promise<boolean>;
  aliasesOf(roomId: string): Promise<string[]>;

  forget(userId: string, roomId: string): Promise<void>;
  /** Un-forgets, e.g. when the user joins or is invited again. */
  unforget(userId: string, roomId: string): Promise<void>;
  forgottenBy(userId: string): Promise<Set<string>>;
}

type Row = Selectable<Database['rooms']>;
const toRecord = (r: Row): RoomRecord => ({ roomId: r.room_id, roomVersion: r.room_version, creator: r.creator, createdTs: r.created_ts, isPublic: r.is_public === 1 });

export class KyselyRoomStore implements RoomStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async create(room: RoomRecord) {
    await this.#db
      .insertInto('rooms')
      .values({ room_id: room.roomId, room_version: room.roomVersion, creator: room.creator, created_ts: room.createdTs, is_public: room.isPublic ? 1 : 0 })
      .execute();
  }

  async get(roomId: string) {
    const row = await this.#db.selectFrom('rooms').selectAll().where('room_id', '=', roomId).executeTakeFirst();
    return row && toRecord(row);
  }

  async setPublic(roomId: string, isPublic: boolean) {
    await this.#db.updateTable('rooms').set({ is_public: isPublic ? 1 : 0 }).where('room_id', '=', roomId).execute();
  }

  async setBlocked(roomId: string, blocked: boolean) {
    const result = await this.#db.updateTable('rooms').set({ blocked: blocked ? 1 : 0 }).where('room_id', '=', roomId).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async isBlocked(roomId: string) {
    const row = await this.#db.selectFrom('rooms').select('blocked').where('room_id', '=', roomId).executeTakeFirst();
    return Number(row?.blocked ?? 0) === 1;
  }

  async listPublished(types: readonly string[]) {
    const counts = await this.#db
      .selectFrom('rooms as r')
      .leftJoin('current_state as member', (join) =>
        join.onRef('member.room_id', '=', 'r.room_id').on('member.type', '=', 'm.room.member').on('member.membership', '=', 'join'),
      )
      .select(['r.room_id', (eb) => eb.fn.count<number>('member.state_key').as('joined')])
      .where('r.is_public', '=', 1)
      .groupBy('r.room_id')
      .execute();
    const rooms = new Map<string, PublishedRoom>(counts.map((r) => [r.room_id, { roomId: r.room_id, joinedMembers: Number(r.joined), state: new Map() }]));
    if (rooms.size === 0 || types.length === 0) return [...rooms.values()];
    const state = await this.#db
      .selectFrom('rooms as r')
      .innerJoin('current_state as s', 's.room_id', 'r.room_id')
      .innerJoin('events as e', 'e.event_id', 's.event_id')
      .select(['r.room_id', 's.type', 'e.json'])
      .where('r.is_public', '=', 1)
      .where('s.state_key', '=', '')
      .where('s.type', 'in', types)
      .execute();
    for (const row of state) rooms.get(row.room_id)?.state.set(row.type, row.json);
    return [...rooms.values()];
  }

  async createAlias(alias: string, roomId: string, creator: string, now: number) {
    const result = await this.#db
      .insertInto('room_aliases')
      .values({ alias, room_id: roomId, creator, created_ts: now })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async resolveAlias(alias: string) {
    const row = await this.#db.selectFrom('room_aliases').select(['room_id', 'creator']).where('alias', '=', alias).executeTakeFirst();
    return row && { roomId: row.room_id, creator: row.creator };
  }

  async deleteAlias(alias: string) {
    const result = await this.#db.deleteFrom('room_aliases').where('alias', '=', alias).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async aliasesOf(roomId: string) {
    return (await this.#db.selectFrom('room_aliases').select('alias').where('room_id', '=', roomId).orderBy('alias').execute()).map((r) => r.alias);
  }

  async forget(userId: string, roomId: string) {
    await this.#db.insertInto('room_forgotten').values({ user_id: userId, room_id: roomId }).onConflict((oc) => oc.doNothing()).execute();
  }

  async unforget(userId: string, roomId: string) {
    await this.#db.deleteFrom('room_forgotten').where('user_id', '=', userId).where('room_id', '=', roomId).execute();
  }

  async forgottenBy(userId: string) {
    return new Set((await this.#db.selectFrom('room_forgotten').select('room_id').where('user_id', '=', userId).execute()).map((r) => r.room_id));
  }
}
