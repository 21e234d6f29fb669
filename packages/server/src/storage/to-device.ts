/** To-device messages waiting for their device, and the senders' transaction ids. */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface ToDeviceMessage {
  streamId: number;
  sender: string;
  type: string;
  content: Record<string, unknown>;
}

export interface ToDeviceStore {
  /** Records a sender's transaction id; false when it was used already (a retry). */
  claimTxn(userId: string, deviceId: string, txnId: string, now: number): Promise<boolean>;
  insert(rows: ReadonlyArray<{ userId: string; deviceId: string; streamId: number; sender: string; type: string; content: string }>): Promise<void>;
  /** Messages for the device in (after, upTo], oldest first. */
  pending(userId: string, deviceId: string, after: number, upTo: number): Promise<ToDeviceMessage[]>;
  /** Forgets messages the device has acknowledged (positions up to and including `upTo`). */
  acknowledge(userId: string, deviceId: string, upTo: number): Promise<void>;
}

export class KyselyToDeviceStore implements ToDeviceStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async claimTxn(userId: string, deviceId: string, txnId: string, now: number) {
    const result = await this.#db
      .insertInto('to_device_txns')
      .values({ user_id: userId, device_id: deviceId, txn_id: txnId, created_ts: now })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async insert(rows: ReadonlyArray<{ userId: string; deviceId: string; streamId: number; sender: string; type: string; content: string }>) {
    if (rows.length === 0) return;
    await this.#db
      .insertInto('to_device_messages')
      .values(rows.map((r) => ({ user_id: r.userId, device_id: r.deviceId, stream_id: r.streamId, sender: r.sender, type: r.type, content: r.content })))
      .execute();
  }

  async pending(userId: string, deviceId: string, after: number, upTo: number) {
    const { rows } = await sql<{ stream_id: number; sender: string; type: string; content: string }>`
      select stream_id, sender, type, content from to_device_messages
      where user_id = ${userId} and device_id = ${deviceId} and stream_id > ${after} and stream_id <= ${upTo}
      order by stream_id`.execute(this.#db);
    return rows.map((r) => ({ streamId: Number(r.stream_id), sender: r.sender, type: r.type, content: JSON.parse(r.content) as Record<string, unknown> }));
  }

  async acknowledge(userId: string, deviceId: string, upTo: number) {
    // Mostly there is nothing to delete: a read first keeps such a sync from taking the write lock
    // (which other server threads or processes wait on).
    const { rows } = await sql<{ one: number }>`select 1 as one from to_device_messages where user_id = ${userId} and device_id = ${deviceId} and stream_id <= ${upTo} limit 1`.execute(this.#db);
    if (rows.length === 0) return;
    await sql`delete from to_device_messages where user_id = ${userId} and device_id = ${deviceId} and stream_id <= ${upTo}`.execute(this.#db);
  }
}
