/**
 * The joined rooms a /sync shows in full — every room of an initial sync, a room joined since the
 * last sync — read together: a few queries for all of them (timeline tails, visibility histories
 * where needed, state before the timelines, transaction ids, unread counts, members) instead of
 * about six per room. The answer is the one `joinedRoom` gives room by room; only a room whose
 * timeline needs more than the first page (a filter that drops most events) reads on alone.
 */
import type { EventRow } from '../../storage/index.ts';
import { visibilityCheck } from '../rooms/visibility.ts';
import {
  NOTIFYING_TYPES,
  SUMMARY_MEMBERSHIPS,
  filterState,
  joinedSection,
  latestVisible,
  neededMembers,
  ownTxnIds,
  rememberUnread,
  firstPageSize,
  type JoinedRoomExtras,
  type RoomSyncContext,
} from './room-sync.ts';

/** Rooms read per round of queries (bounds the statements' size and the rows held at once). */
const ROOMS_PER_ROUND = 200;

/**
 * Sections for joined rooms new to the client (`since` undefined in every context); all contexts
 * are of one sync (same stores, user, device, position and filter).
 */
export async function freshJoinedRooms(contexts: RoomSyncContext[], extrasOf: (roomId: string) => JoinedRoomExtras): Promise<Map<string, Record<string, unknown>>> {
  const sections = new Map<string, Record<string, unknown>>();
  for (let i = 0; i < contexts.length; i += ROOMS_PER_ROUND) {
    for (const [roomId, section] of await oneRound(contexts.slice(i, i + ROOMS_PER_ROUND), extrasOf)) sections.set(roomId, section);
  }
  return sections;
}

async function oneRound(contexts: RoomSyncContext[], extrasOf: (roomId: string) => JoinedRoomExtras) {
  const sections = new Map<string, Record<string, unknown>>();
  const first = contexts[0];
  if (!first) return sections;
  const { stores, userId, upTo } = first;
  const batch = stores.syncBatch;
  const roomIds = contexts.map((c) => c.roomId);

  // Independent of each other: on PostgreSQL they overlap on the pool's connections.
  const [pages, unread, members] = await Promise.all([
    batch.latestEvents(roomIds, upTo, firstPageSize(first.filter)),
    batch.countUnread(contexts.map((c) => ({ roomId: c.roomId, floor: c.membershipStream })), userId, NOTIFYING_TYPES),
    batch.members(roomIds, SUMMARY_MEMBERSHIPS),
  ]);

  // History visibility matters only for events up to the user's current join; read the rules of
  // the rooms whose first page reaches back that far.
  const older = contexts.filter((c) => (pages.get(c.roomId) ?? []).some((e) => e.streamOrdering <= c.membershipStream)).map((c) => c.roomId);
  if (older.length > 0) {
    const [memberships, visibilities] = await Promise.all([batch.membershipHistories(older, userId), batch.visibilityHistories(older)]);
    const olderSet = new Set(older);
    for (const ctx of contexts) {
      if (olderSet.has(ctx.roomId)) ctx.visibility = visibilityCheck(userId, memberships.get(ctx.roomId) ?? [], visibilities.get(ctx.roomId) ?? []);
    }
  }

  const timelines = await Promise.all(contexts.map((ctx) => latestVisible(ctx, upTo, undefined, ctx.membershipStream, pages.get(ctx.roomId) ?? [])));
  const onlyMembers = contexts.flatMap((ctx, i) => [...(neededMembers(ctx, timelines[i]!.events) ?? [])].map((u) => ({ roomId: ctx.roomId, userId: u })));
  const [states, txnIds] = await Promise.all([
    batch.stateAt(
      contexts.map((ctx, i) => ({ roomId: ctx.roomId, position: timelines[i]!.start - 1 })),
      onlyMembers.length > 0 ? onlyMembers : undefined,
    ),
    ownTxnIds(first, timelines.flatMap((t) => t.events)),
  ]);

  const filtered: EventRow[][] = contexts.map((ctx, i) => filterState(ctx, states.get(ctx.roomId) ?? [], timelines[i]!.events));

  contexts.forEach((ctx, i) => {
    sections.set(
      ctx.roomId,
      joinedSection(ctx, extrasOf(ctx.roomId), {
        timeline: timelines[i]!.events,
        limited: timelines[i]!.limited,
        state: filtered[i]!,
        txnIds,
        unreadCount: rememberUnread(ctx, unread.get(ctx.roomId) ?? 0),
        members: members.get(ctx.roomId) ?? [],
      }),
    );
  });
  return sections;
}
