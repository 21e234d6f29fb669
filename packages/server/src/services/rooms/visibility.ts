/**
 * History visibility (spec: "History visibility", "Server behaviour"): which events of a room a user
 * may read. Used on every read path — /sync, /messages, /context, /event, relations — so nobody reads
 * events from before they could see the room.
 */
import type { Stores } from '../../storage/index.ts';

type Visibility = 'world_readable' | 'shared' | 'invited' | 'joined';
const OPENNESS: Record<Visibility, number> = { joined: 0, invited: 1, shared: 2, world_readable: 3 };

const asVisibility = (v: string): Visibility => (v in OPENNESS ? (v as Visibility) : 'shared');

/** Decides for one user and one room; built once per request from that user's membership history. */
export interface VisibilityCheck {
  (event: { streamOrdering: number; type: string; stateKey: string | null; json: string }): boolean;
}

/** The last value in a stream-ordered list strictly before `position` (or `fallback`). */
function valueBefore<T>(list: ReadonlyArray<{ streamOrdering: number; value: T }>, position: number, fallback: T): T {
  let found = fallback;
  for (const item of list) {
    if (item.streamOrdering >= position) break;
    found = item.value;
  }
  return found;
}

export async function visibilityFor(stores: Stores, roomId: string, userId: string): Promise<VisibilityCheck> {
  return visibilityCheck(userId, await stores.events.membershipHistory(roomId, userId), await stores.events.visibilityHistory(roomId));
}

/** The check from a room's histories, already read (/sync reads them for many rooms at once). */
export function visibilityCheck(
  userId: string,
  membershipHistory: ReadonlyArray<{ streamOrdering: number; membership: string }>,
  visibilityHistory: ReadonlyArray<{ streamOrdering: number; visibility: string }>,
): VisibilityCheck {
  const memberships = membershipHistory.map((m) => ({ streamOrdering: m.streamOrdering, value: m.membership }));
  const visibilities = visibilityHistory.map((v) => ({ streamOrdering: v.streamOrdering, value: asVisibility(v.visibility) }));
  const membershipAt = new Map(memberships.map((m) => [m.streamOrdering, m.value]));
  const visibilityAt = new Map(visibilities.map((v) => [v.streamOrdering, v.value]));

  return (event) => {
    const position = event.streamOrdering;
    let visibility = valueBefore(visibilities, position, 'shared' as Visibility);
    // For the visibility change itself, the more open of the old and new settings applies.
    const changedTo = visibilityAt.get(position);
    if (changedTo !== undefined && OPENNESS[changedTo] > OPENNESS[visibility]) visibility = changedTo;
    if (visibility === 'world_readable') return true;

    const before = valueBefore(memberships, position, 'leave');
    // A user always sees their own membership changes (both the state they came from and went to count).
    const own = event.type === 'm.room.member' && event.stateKey === userId ? membershipAt.get(position) : undefined;
    const candidates = own !== undefined ? [before, own] : [before];
    if (candidates.includes('join')) return true;
    if (visibility === 'invited' && candidates.includes('invite')) return true;
    if (visibility === 'shared') return memberships.some((m) => m.streamOrdering > position && m.value === 'join');
    return false;
  };
}
