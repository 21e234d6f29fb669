/**
 * `device_lists` for /sync.
 * - `changed`: the users whose devices the client must re-query — those sharing a joined room with it
 *   whose keys changed in the range, those who newly joined one of its rooms, and everyone in a room
 *   it newly joined. Clients learn about new devices only this way.
 * - `left`: the users it no longer shares any joined room with, because they left (or were kicked or
 *   banned from) a shared room, or it left one. Clients then stop tracking those users' devices and
 *   stop sending them room keys.
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
  // Every sync of every client asks; nearly always nothing changed (no allocation for that answer).
  if (!anyKeyChange && !rangeEvents.some((e) => e.type === 'm.room.member') && !joined.some((m) => m.streamOrdering > since)) return [];
  const changed = new Set<string>();
  if (anyKeyChange) {
    const myRooms = new Set(joined.map((m) => m.roomId));
    for (const candidate of await stores.keys.usersChangedBetween(since, upTo)) {
      if (candidate === userId) {
        changed.add(candidate);
        continue;
      }
      if (await sharesJoinedRoom(stores, candidate, myRooms)) changed.add(candidate);
    }
  }
  for (const event of rangeEvents) {
    if (event.type === 'm.room.member' && event.stateKey && event.stateKey !== userId && membershipOf(event.json) === 'join') {
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

/**
 * Who the client stopped sharing every joined room with in (since, upTo]. Candidates are the members
 * who left one of its rooms in the range (only those who had been joined: an invite declined never
 * put anyone on the list) and everyone still in a room the client itself left; a candidate who still
 * shares another joined room (or came back) is not "left".
 */
export async function leftDeviceLists(
  stores: Stores,
  userId: string,
  allMemberships: readonly MembershipRow[],
  upTo: number,
  since: number,
  rangeEvents: readonly EventRow[],
): Promise<string[]> {
  // Every sync of every client asks; nearly always nobody left (no allocation for that answer).
  const someoneLeft = (m: MembershipRow) => (m.membership === 'leave' || m.membership === 'ban') && m.streamOrdering > since && m.streamOrdering <= upTo;
  if (!allMemberships.some(someoneLeft) && !rangeEvents.some((e) => e.type === 'm.room.member')) return [];
  const memberships = allMemberships.filter((m) => m.streamOrdering <= upTo);
  const candidates = new Set<string>();
  const leftRows = memberships.filter(someoneLeft);
  const roomsLeft = leftRows.map((m) => m.roomId);
  // In a room the client left, others may have left too before it did (their events are not in rangeEvents).
  const leftRoomEvents = leftRows.length > 0 ? await stores.events.inRange(roomsLeft, since, Math.max(...leftRows.map((m) => m.streamOrdering))) : [];
  for (const event of [...rangeEvents, ...leftRoomEvents]) {
    if (event.type !== 'm.room.member' || !event.stateKey || event.stateKey === userId) continue;
    const membership = membershipOf(event.json);
    if ((membership === 'leave' || membership === 'ban') && previousMembershipOf(event.unsigned) === 'join') candidates.add(event.stateKey);
  }
  for (const roomId of roomsLeft) {
    for (const member of await stores.events.members(roomId, ['join'])) if (member.userId !== userId) candidates.add(member.userId);
  }
  if (candidates.size === 0) return [];
  const myRooms = new Set(memberships.filter((m) => m.membership === 'join').map((m) => m.roomId));
  const left: string[] = [];
  for (const candidate of candidates) if (!(await sharesJoinedRoom(stores, candidate, myRooms))) left.push(candidate);
  return left.sort();
}

async function sharesJoinedRoom(stores: Stores, otherUserId: string, myRooms: ReadonlySet<string>): Promise<boolean> {
  return (await stores.events.roomsOf(otherUserId)).some((m) => m.membership === 'join' && myRooms.has(m.roomId));
}

const membershipOf = (json: string) => (JSON.parse(json) as { content: { membership?: unknown } }).content.membership;

const previousMembershipOf = (unsigned: string) => (JSON.parse(unsigned) as { prev_content?: { membership?: unknown } }).prev_content?.membership;
