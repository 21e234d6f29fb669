/** Global and per-room account data (client-owned JSON documents). */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export const GLOBAL_ROOM = '';

export interface AccountDataRecord {
  roomId: string;
  type: string;
  content: Record<string, unknown>;
  streamId: number;
}

export interface AccountDataStore {
  get(userId: string, roomId: string, type: string): Promise<Record<string, unknown> | undefined>;
  /** Writes at the given stream position (taken by the caller's transaction from the stream). */
  put(userId: string, roomId: string, type: string, content: Record<string, unknown>, streamId: number): Promise<void>;
  /** Everything changed after `sinceStreamId` (0: everything), for /sync. */
  changedSince(userId: string, sinceStreamId: number): Promise<AccountDataRecord[]>;
}

export class KyselyAccountDataStore implements AccountDataStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async get(userId: string, roomId: string, type: string) {
    const row = await this.#db
      .selectFrom('account_data')
      .select('content')
      .where('user_id', '=', userId)
      .where('room_id', '=', roomId)
      .where('type', '=', type)
      .executeTakeFirst();
    return row && (JSON.parse(row.content) as Record<string, unknown>);
  }

  async put(userId: string, roomId: string, type: string, content: Record<string, unknown>, streamId: number) {
    const json = JSON.stringify(content);
    await this.#db
      .insertInto('account_data')
      .values({ user_id: userId, room_id: roomId, type, content: json, stream_id: streamId })
      .onConflict((oc) => oc.columns(['user_id', 'room_id', 'type']).doUpdateSet({ content: json, stream_id: streamId }))
      .execute();
  }

  async changedSince(userId: string, sinceStreamId: number) {
    const rows = await this.#db
      .selectFrom('account_data')
      .selectAll()
      .where('user_id', '=', userId)
      .where('stream_id', '>', sinceStreamId)
      .orderBy('stream_id')
      .execute();
    return rows.map((r) => ({ roomId: r.room_id, type: r.type, content: JSON.parse(r.content) as Record<string, unknown>, streamId: r.stream_id }));
  }
}
