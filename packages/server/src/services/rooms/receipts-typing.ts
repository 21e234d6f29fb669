/** Typing notifications, read receipts and read markers (spec: "Typing Notifications", "Receipts", "Fully read markers"). */
import { MatrixError } from '@caduceus/core';
import type { Storage } from '../../storage/index.ts';
import type { Clock } from '../clock.ts';
import type { Principal } from '../sessions.ts';
import type { StreamWriter, WriteContext } from '../stream-writer.ts';
import { visibilityFor } from './visibility.ts';

/** Longest a typing notification lasts without being renewed. */
export const MAX_TYPING_MS = 120_000;
const DEFAULT_TYPING_MS = 30_000;
const SWEEP_INTERVAL_MS = 5_000;

export const RECEIPT_TYPES = ['m.read', 'm.read.private', 'm.fully_read'] as const;
export type ReceiptType = (typeof RECEIPT_TYPES)[number];

export class ReceiptsAndTyping {
  readonly #storage: Storage;
  readonly #writer: StreamWriter;
  readonly #clock: Clock;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(storage: Storage, writer: StreamWriter, clock: Clock) {
    this.#storage = storage;
    this.#writer = writer;
    this.#clock = clock;
  }

  /** Starts the periodic job that tells rooms when someone's typing expired. */
  start() {
    this.#sweeper ??= setInterval(() => void this.sweepExpiredTyping().catch(() => {}), SWEEP_INTERVAL_MS);
    this.#sweeper.unref();
  }

  stop() {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  async setTyping(principal: Principal, roomId: string, userId: string, typing: boolean, timeoutMs: number | undefined) {
    if (userId !== principal.userId) throw new MatrixError('M_FORBIDDEN', 'You can only set your own typing state');
    await this.#requireJoined(roomId, userId);
    const expires = typing ? this.#clock.now() + Math.min(Math.max(timeoutMs ?? DEFAULT_TYPING_MS, 0), MAX_TYPING_MS) : null;
    await this.#writer.write(async (ctx) => {
      await ctx.stores.ephemeral.setTyping(roomId, userId, expires, await ctx.nextPosition());
      ctx.touch([roomId]);
      ctx.mark('typing', [roomId]);
    });
  }

  async sweepExpiredTyping() {
    const expired = await this.#storage.ephemeral.expiredTyping(this.#clock.now());
    if (expired.length === 0) return;
    await this.#writer.write(async (ctx) => {
      // Re-checked inside the write: another process may have swept or renewed them meanwhile.
      for (const { roomId, userId } of await ctx.stores.ephemeral.expiredTyping(this.#clock.now())) {
        await ctx.stores.ephemeral.setTyping(roomId, userId, null, await ctx.nextPosition());
        ctx.touch([roomId]);
        ctx.mark('typing', [roomId]);
      }
    });
  }

  /** POST /rooms/{roomId}/receipt/{receiptType}/{eventId} */
  async receipt(principal: Principal, roomId: string, receiptType: ReceiptType, eventId: string, threadId: string | undefined) {
    const target = await this.#visibleEvent(principal.userId, roomId, eventId);
    await this.#writer.write(async (ctx) => {
      await this.#mark(ctx, principal.userId, roomId, receiptType, eventId, target.streamOrdering, threadId);
    });
  }

  /** POST /rooms/{roomId}/read_markers */
  async readMarkers(principal: Principal, roomId: string, markers: Partial<Record<ReceiptType, string>>) {
    const targets: Array<[ReceiptType, string, number]> = [];
    for (const type of RECEIPT_TYPES) {
      const eventId = markers[type];
      if (eventId !== undefined) targets.push([type, eventId, (await this.#visibleEvent(principal.userId, roomId, eventId)).streamOrdering]);
    }
    if (targets.length === 0) return;
    await this.#writer.write(async (ctx) => {
      for (const [type, eventId, stream] of targets) await this.#mark(ctx, principal.userId, roomId, type, eventId, stream, undefined);
    });
  }

  async #mark(ctx: WriteContext, userId: string, roomId: string, type: ReceiptType, eventId: string, eventStream: number, threadId: string | undefined) {
    const position = await ctx.nextPosition();
    if (type === 'm.fully_read') {
      // The read marker is the user's own room account data, not a receipt others see.
      await ctx.stores.accountData.put(userId, roomId, 'm.fully_read', { event_id: eventId }, position);
      ctx.touch([], [userId]);
      ctx.mark('accountData', [userId]);
      return;
    }
    await ctx.stores.ephemeral.putReceipt({
      roomId,
      receiptType: type,
      userId,
      threadId: threadId ?? '',
      eventId,
      eventStream,
      ts: this.#clock.now(),
      streamId: position,
    });
    if (type === 'm.read') ctx.touch([roomId]);
    else ctx.touch([], [userId]);
    ctx.mark('receipts', [roomId]);
  }

  async #requireJoined(roomId: string, userId: string) {
    const membership = await this.#storage.events.currentStateEvent(roomId, 'm.room.member', userId);
    if (!membership || (JSON.parse(membership.json) as { content: { membership?: string } }).content.membership !== 'join') {
      throw new MatrixError('M_FORBIDDEN', 'You are not in this room');
    }
  }

  async #visibleEvent(userId: string, roomId: string, eventId: string) {
    await this.#requireJoined(roomId, userId);
    const row = await this.#storage.events.get(eventId);
    if (!row || row.roomId !== roomId || !(await visibilityFor(this.#storage, roomId, userId))(row)) {
      throw new MatrixError('M_NOT_FOUND', 'No such event in this room');
    }
    return row;
  }
}
