/**
 * `device_lists.changed` for /sync: the users whose devices the client must re-query — those sharing a
 * joined room with it whose keys changed in the range, those who newly joined one of its rooms, and
 * everyone in a room it newly joined. Clients learn about new devices only this way.
 */
import type { EventRow, MembershipRow, Stores } from '../../storage/index.ts';

export async function changedDeviceLists(
  stores: Stores,
  userId: string,
  joined: readonly MembershipRow[],
  since: number,
  upTo: number,
  rangeEvents: readonly EventRow[],
  anyKeyChange: boolean,
): Promise<string[]> {
  const changed = new Set<string>();
  const myRooms = new Set(joined.map((m) => m.roomId));
  if (anyKeyChange) {
    for (const candidate of await stores.keys.usersChangedBetween(since, upTo)) {
      if (candidate === userId) {
        changed.add(candidate);
        continue;
      }
      const theirs = await stores.events.roomsOf(candidate);
      if (theirs.some((m) => m.membership === 'join' && myRooms.has(m.roomId))) changed.add(candidate);
    }
  }
  for (const event of rangeEvents) {
    if (event.type === 'm.room.member' && event.stateKey && event.stateKey !== userId && (JSON.parse(event.json) as { content: { membership?: string } }).content.membership === 'join') {
      changed.add(event.stateKey);
    }
  }
  for (const m of joined) {
    if (m.streamOrdering > since) {
      for (const member of await stores.events.members(m.roomId, ['join'])) if (member.userId !== userId) changed.add(member.userId);
    }
  }
  return [...changed].sort();
}
