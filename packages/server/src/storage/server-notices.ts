/** Each user's one server notices room (spec: "Server Notices"). */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface ServerNoticeStore {
  roomOf(userId: string): Promise<string | undefined>;
  /** Records the user's notices room; false when one was recorded already. */
  setRoom(userId: string, roomId: string): Promise<boolean>;
}

export class KyselyServerNoticeStore implements ServerNoticeStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async roomOf(userId: string) {
    const row = await this.#db.selectFrom('server_notice_rooms').select('room_id').where('user_id', '=', userId).executeTakeFirst();
    return row?.room_id;
  }

  async setRoom(userId: string, roomId: string) {
    const result = await this.#db
      .insertInto('server_notice_rooms')
      .values({ user_id: userId, room_id: roomId })
      .onConflict((oc) => oc.column('user_id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }
}
