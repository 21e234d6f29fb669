/** Read receipts and typing notifications, both on the global stream so /sync sees them in order. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface ReceiptRecord {
  roomId: string;
  receiptType: string;
  userId: string;
  threadId: string;
  eventId: string;
  eventStream: number;
  ts: number;
  streamId: number;
}

export interface EphemeralStore {
  /** Stores a receipt unless the user already has one at a later event; returns whether it was stored. */
  putReceipt(receipt: ReceiptRecord): Promise<boolean>;
  receiptsChanged(roomIds: readonly string[], after: number, upTo: number): Promise<ReceiptRecord[]>;
  receiptsOf(roomIds: readonly string[]): Promise<ReceiptRecord[]>;

  setTyping(roomId: string, userId: string, expiresTs: number | null, streamId: number): Promise<void>;
  typingRoomsChanged(roomIds: readonly string[], after: number, upTo: number): Promise<string[]>;
  typingIn(roomIds: readonly string[], now: number): Promise<Array<{ roomId: string; userId: string }>>;
  /** Removes expired typing entries; returns the rooms whose typing set changed. */
  expiredTyping(now: number): Promise<Array<{ roomId: string; userId: string }>>;
}

type ReceiptRow = Database['receipts'];
const toReceipt = (r: ReceiptRow): ReceiptRecord => ({
  roomId: r.room_id,
  receiptType: r.receipt_type,
  userId: r.user_id,
  threadId: r.thread_id,
  eventId: r.event_id,
  eventStream: r.event_stream,
  ts: r.ts,
  streamId: r.stream_id,
});

export class KyselyEphemeralStore implements EphemeralStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async putReceipt(r: ReceiptRecord) {
    const values = {
      room_id: r.roomId,
      receipt_type: r.receiptType,
      user_id: r.userId,
      thread_id: r.threadId,
      event_id: r.eventId,
      event_stream: r.eventStream,
      ts: r.ts,
      stream_id: r.streamId,
    };
    const result = await this.#db
      .insertInto('receipts')
      .values(values)
      .onConflict((oc) =>
        oc
          .columns(['room_id', 'receipt_type', 'user_id', 'thread_id'])
          .doUpdateSet({ event_id: r.eventId, event_stream: r.eventStream, ts: r.ts, stream_id: r.streamId })
          // A receipt never moves backwards in the room's history.
          .where('receipts.event_stream', '<', r.eventStream),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async receiptsChanged(roomIds: readonly string[], after: number, upTo: number) {
    if (roomIds.length === 0 || upTo <= after) return [];
    const rows = await this.#db
      .selectFrom('receipts')
      .selectAll()
      .where('room_id', 'in', roomIds)
      .where('stream_id', '>', after)
      .where('stream_id', '<=', upTo)
      .execute();
    return rows.map(toReceipt);
  }

  async receiptsOf(roomIds: readonly string[]) {
    if (roomIds.length === 0) return [];
    return (await this.#db.selectFrom('receipts').selectAll().where('room_id', 'in', roomIds).execute()).map(toReceipt);
  }

  async setTyping(roomId: string, userId: string, expiresTs: number | null, streamId: number) {
    if (expiresTs === null) {
      await this.#db.deleteFrom('typing').where('room_id', '=', roomId).where('user_id', '=', userId).execute();
    } else {
      await this.#db
        .insertInto('typing')
        .values({ room_id: roomId, user_id: userId, expires_ts: expiresTs })
        .onConflict((oc) => oc.columns(['room_id', 'user_id']).doUpdateSet({ expires_ts: expiresTs }))
        .execute();
    }
    await this.#db.insertInto('typing_changes').values({ stream_id: streamId, room_id: roomId }).execute();
  }

  async typingRoomsChanged(roomIds: readonly string[], after: number, upTo: number) {
    if (roomIds.length === 0 || upTo <= after) return [];
    const rows = await this.#db
      .selectFrom('typing_changes')
      .select('room_id')
      .distinct()
      .where('room_id', 'in', roomIds)
      .where('stream_id', '>', after)
      .where('stream_id', '<=', upTo)
      .execute();
    return rows.map((r) => r.room_id);
  }

  async typingIn(roomIds: readonly string[], now: number) {
    if (roomIds.length === 0) return [];
    const rows = await this.#db.selectFrom('typing').select(['room_id', 'user_id']).where('room_id', 'in', roomIds).where('expires_ts', '>', now).orderBy('user_id').execute();
    return rows.map((r) => ({ roomId: r.room_id, userId: r.user_id }));
  }

  async expiredTyping(now: number) {
    const rows = await this.#db.selectFrom('typing').select(['room_id', 'user_id']).where('expires_ts', '<=', now).execute();
    return rows.map((r) => ({ roomId: r.room_id, userId: r.user_id }));
  }
}
