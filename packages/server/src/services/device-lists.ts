/**
 * A user's device list changed (new device keys, cross-signing keys, a device deleted): record it on
 * the stream and wake everyone sharing a room with them, whose clients then re-query the user's keys
 * (/sync `device_lists.changed`). Without it, clients would keep encrypting to devices that are gone
 * and never learn of new ones.
 */
import type { WriteContext } from './stream-writer.ts';

export async function recordDeviceListChange(ctx: WriteContext, userId: string, position?: number): Promise<void> {
  await ctx.stores.keys.recordDeviceListChange(userId, position ?? (await ctx.nextPosition()));
  const rooms = (await ctx.stores.events.roomsOf(userId)).filter((m) => m.membership === 'join' || m.membership === 'invite').map((m) => m.roomId);
  ctx.touch(rooms, [userId]);
  ctx.mark('deviceLists', [userId]);
}
