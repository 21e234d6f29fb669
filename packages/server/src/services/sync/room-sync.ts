/**
 * One room's part of a /sync answer: timeline, state before it, ephemeral events, room account
 * data, the summary and unread counts — for joined rooms, invites and rooms the user left.
 */
import type { EventRow, MembershipRow, ReceiptRecord, Stores } from '../../storage/index.ts';
import { clientEvent, strippedEvent, type ClientEvent } from '../rooms/client-events.ts';
import { visibilityFor, type VisibilityCheck } from '../rooms/visibility.ts';
import { eventPasses, type EventFilterLike, type SyncFilterLike } from './event-filter.ts';
import type { RecentEvents } from './recent-events.ts';

export const DEFAULT_TIMELINE_LIMIT = 10;
export const MAX_TIMELINE_LIMIT = 1000;
/** Event types that count as unread messages (encrypted content cannot be inspected by the server). */
export const NOTIFYING_TYPES = ['m.room.message', 'm.room.encrypted', 'm.sticker', 'm.call.invite', 'm.poll.start'];
/** State shown to someone invited, so they can decide whether to join (spec: "stripped state"). */
const INVITE_STATE_TYPES = ['m.room.create', 'm.room.join_rules', 'm.room.name', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.encryption', 'm.room.topic'];

export interface RoomSyncContext {
  stores: Stores;
  userId: string;
  deviceId: string;
  roomId: string;
  /** undefined: the client has nothing of this room yet (initial sync, or newly joined). */
  since: number | undefined;
  upTo: number;
  now: number;
  filter: SyncFilterLike | undefined;
  fullState: boolean;
  /** Stream position of the user's current membership event in the room. */
  membershipStream: number;
  /** Unread counts computed by earlier syncs, carried forward instead of recounted. */
  unread?: UnreadCache | undefined;
  /** Whether any receipt in the room may have changed since `since` (then unread counts are recounted). */
  receiptsChanged?: boolean | undefined;
  /** Recently committed events (for transaction ids of the user's own new events), when the notifier is in step. */
  recent?: RecentEvents | undefined;
  /** The room's history visibility check, when already built (read for many rooms at once). */
  visibility?: VisibilityCheck | undefined;
}

/** Per user and room: the unread count at a stream position. */
export type UnreadCache = Map<string, { at: number; count: number }>;
const MAX_CACHED_UNREAD = 200_000;

export const token = (position: number) => `s${Math.max(0, position)}`;

/** Keeps the visible, filter-passing events; builds the visibility check only when it can matter. */
async function visibleEvents(ctx: RoomSyncContext, rows: EventRow[], joinedSince: number | undefined): Promise<EventRow[]> {
  let check: VisibilityCheck | undefined;
  const out: EventRow[] = [];
  for (const row of rows) {
    // Events after the user's current join are always visible to them; only older ones need the rules.
    if (joinedSince === undefined || row.streamOrdering <= joinedSince) {
      check ??= ctx.visibility ?? (await visibilityFor(ctx.stores, ctx.roomId, ctx.userId));
      if (!check(row)) continue;
    }
    out.push(row);
  }
  return out;
}

function timelineLimit(filter: EventFilterLike | undefined): number {
  return Math.min(Math.max(filter?.limit ?? DEFAULT_TIMELINE_LIMIT, 0), MAX_TIMELINE_LIMIT);
}

/**
 * How many events `latestVisible` reads first (for many rooms at once on an initial sync). Without a
 * type or sender filter every visible event counts, so limit + 1 settle the timeline; a filter may
 * drop many, so then a larger page. (With a limit of 0 the page size decides where the state is
 * taken, so it stays at the size of later pages.)
 */
export function firstPageSize(filter: SyncFilterLike | undefined): number {
  const timeline = filter?.room?.timeline;
  const limit = timelineLimit(timeline);
  const narrowed = timeline?.types !== undefined || timeline?.not_types !== undefined || timeline?.senders !== undefined || timeline?.not_senders !== undefined;
  return limit > 0 && !narrowed ? limit + 1 : laterPageSize(limit);
}

const laterPageSize = (limit: number) => Math.max(limit + 1, 20);

/**
 * The newest `limit` visible events at or before `upTo` (after `after`), oldest first, and whether
 * there is more. The timeline is contiguous: it stops at the first event the user may not see, so
 * that the state before it (which the client is given in full) is the state its events build on.
 */
export async function latestVisible(ctx: RoomSyncContext, upTo: number, after: number | undefined, joinedSince: number | undefined, firstPage?: EventRow[]) {
  const filter = ctx.filter?.room?.timeline;
  const limit = timelineLimit(filter);
  const picked: EventRow[] = [];
  let cursor = upTo;
  let hidden = false;
  let pageSize = firstPageSize(ctx.filter);
  let prefetched = firstPage;
  let more = true;
  while (picked.length <= limit && !hidden && more) {
    const page = prefetched ?? (await ctx.stores.events.page(ctx.roomId, cursor, 'b', pageSize, after));
    prefetched = undefined;
    // A short page is the room's beginning (or `after`): nothing older to read.
    more = page.length >= pageSize;
    pageSize = laterPageSize(limit);
    if (page.length === 0) break;
    const visible = await visibleEvents(ctx, page, joinedSince);
    const visibleIds = new Set(visible.map((r) => r.eventId));
    for (const row of page) {
      if (!visibleIds.has(row.eventId)) {
        hidden = true;
        break;
      }
      if (eventPasses(filter, { type: row.type, sender: row.sender })) picked.push(row);
      cursor = row.streamOrdering - 1;
    }
  }
  const events = picked.slice(0, limit).reverse();
  return { events, limited: picked.length > limit || hidden, start: events[0]?.streamOrdering ?? cursor + 1 };
}

function lazyMembers(filter: EventFilterLike | undefined) {
  return filter?.lazy_load_members === true;
}

/** With lazy-loaded members: the users whose member events the client needs with this timeline. */
export function neededMembers(ctx: RoomSyncContext, timeline: EventRow[]): Set<string> | undefined {
  return lazyMembers(ctx.filter?.room?.state) ? new Set([ctx.userId, ...timeline.map((e) => e.sender)]) : undefined;
}

/** State events for the client: filtered, and with lazy loading only the members the timeline needs. */
export function filterState(ctx: RoomSyncContext, state: EventRow[], timeline: EventRow[]): EventRow[] {
  if (state.length === 0) return state;
  const stateFilter = ctx.filter?.room?.state;
  const needed = neededMembers(ctx, timeline);
  const inTimeline = new Set(timeline.map((e) => e.eventId));
  return state.filter((row) => {
    if (inTimeline.has(row.eventId)) return false;
    if (needed && row.type === 'm.room.member' && !needed.has(row.stateKey ?? '')) return false;
    return eventPasses(stateFilter, { type: row.type, sender: row.sender });
  });
}

/**
 * The transaction ids of the requesting device for the user's own events among `rows`: from memory
 * when it can vouch for all. Only timeline events need asking: state events never carry one (only
 * /send and redactions take a transaction id).
 */
export async function ownTxnIds(ctx: RoomSyncContext, rows: EventRow[]): Promise<ReadonlyMap<string, string>> {
  if (!rows.some((r) => r.sender === ctx.userId)) return NO_TXN_IDS;
  const own = rows.filter((r) => r.sender === ctx.userId).map((r) => r.eventId);
  return ctx.recent?.txnIds(ctx.userId, ctx.deviceId, own) ?? (await ctx.stores.events.txnIdsOf(ctx.userId, ctx.deviceId, own));
}

const NO_TXN_IDS: ReadonlyMap<string, string> = new Map();

function format(ctx: RoomSyncContext, rows: EventRow[], txnIds: ReadonlyMap<string, string>): ClientEvent[] {
  return rows.map((row) => clientEvent(row, { now: ctx.now, txnIds, omitRoomId: true }));
}

export interface JoinedRoomExtras {
  /** Events of this room in (since, upTo], already loaded for all rooms at once. */
  rangeEvents: EventRow[];
  typing: string[] | undefined;
  receipts: ReceiptRecord[];
  accountData: Array<{ type: string; content: Record<string, unknown> }>;
}

export async function joinedRoom(ctx: RoomSyncContext, extras: JoinedRoomExtras): Promise<Record<string, unknown> | undefined> {
  const incremental = ctx.since !== undefined;
  let timeline: EventRow[];
  let limited: boolean;
  let state: EventRow[];

  if (incremental) {
    const filter = ctx.filter?.room?.timeline;
    const limit = timelineLimit(filter);
    const visible = await visibleEvents(ctx, extras.rangeEvents, ctx.membershipStream);
    const passing = filter ? visible.filter((r) => eventPasses(filter, { type: r.type, sender: r.sender })) : visible;
    limited = passing.length > limit;
    timeline = limited ? passing.slice(passing.length - limit) : passing;
    const timelineStart = timeline[0]?.streamOrdering ?? ctx.upTo + 1;
    if (ctx.fullState) state = await ctx.stores.events.stateAt(ctx.roomId, timelineStart - 1);
    else if (limited) state = await ctx.stores.events.stateChangedBetween(ctx.roomId, ctx.since!, timelineStart - 1);
    else state = [];
  } else {
    const latest = await latestVisible(ctx, ctx.upTo, undefined, ctx.membershipStream);
    timeline = latest.events;
    limited = latest.limited;
    state = await ctx.stores.events.stateAt(ctx.roomId, latest.start - 1);
  }
  state = filterState(ctx, state, timeline);

  const ephemeral = ephemeralEvents(ctx, extras);
  if (incremental && timeline.length === 0 && state.length === 0 && ephemeral.length === 0 && extras.accountData.length === 0 && !ctx.fullState) {
    return undefined;
  }
  const membershipChanged = !incremental || timeline.some(isMemberEvent) || state.some(isMemberEvent);
  return joinedSection(ctx, extras, {
    ephemeral,
    timeline,
    limited,
    state,
    txnIds: await ownTxnIds(ctx, timeline),
    unreadCount: await unreadCount(ctx, incremental ? extras.rangeEvents : undefined),
    members: membershipChanged ? await ctx.stores.events.members(ctx.roomId, SUMMARY_MEMBERSHIPS) : undefined,
  });
}

const isMemberEvent = (e: EventRow) => e.type === 'm.room.member';

export interface JoinedRoomParts {
  /** The room's ephemeral events, when already built. */
  ephemeral?: Array<{ type: string; content: Record<string, unknown> }> | undefined;
  timeline: EventRow[];
  limited: boolean;
  /** Already filtered (`filterState`). */
  state: EventRow[];
  txnIds: ReadonlyMap<string, string>;
  unreadCount: number;
  /** The room's joined and invited members, when the answer carries a summary. */
  members: MembershipRow[] | undefined;
}

/** A joined room's section of the answer, from its parts (read per room, or for many rooms at once). */
export function joinedSection(ctx: RoomSyncContext, extras: JoinedRoomExtras, parts: JoinedRoomParts): Record<string, unknown> {
  const { timeline, state } = parts;
  const section: Record<string, unknown> = {
    timeline: { events: format(ctx, timeline, parts.txnIds), limited: parts.limited, prev_batch: token((timeline[0]?.streamOrdering ?? ctx.upTo + 1) - 1) },
    state: { events: format(ctx, state, parts.txnIds) },
    ephemeral: { events: parts.ephemeral ?? ephemeralEvents(ctx, extras) },
    account_data: { events: extras.accountData },
    // Highlights need push-rule evaluation of content, which encrypted rooms do not allow the server.
    unread_notifications: { notification_count: parts.unreadCount, highlight_count: 0 },
  };
  if (parts.members) section.summary = summaryOf(ctx.userId, parts.members);
  return section;
}

function ephemeralEvents(ctx: RoomSyncContext, extras: JoinedRoomExtras) {
  const filter = ctx.filter?.room?.ephemeral;
  const events: Array<{ type: string; content: Record<string, unknown> }> = [];
  if (extras.typing === undefined && extras.receipts.length === 0) return events;
  if (extras.typing !== undefined) events.push({ type: 'm.typing', content: { user_ids: extras.typing } });
  const receipts: Record<string, Record<string, Record<string, { ts: number; thread_id?: string }>>> = {};
  for (const r of extras.receipts) {
    // Private read receipts are for their owner only.
    if (r.receiptType === 'm.read.private' && r.userId !== ctx.userId) continue;
    const byType = (receipts[r.eventId] ??= {});
    const byUser = (byType[r.receiptType] ??= {});
    byUser[r.userId] = { ts: r.ts, ...(r.threadId ? { thread_id: r.threadId } : {}) };
  }
  if (Object.keys(receipts).length > 0) events.push({ type: 'm.receipt', content: receipts });
  return events.filter((e) => eventPasses(filter, { type: e.type }));
}

const unreadKey = (ctx: RoomSyncContext) => `${ctx.userId}\u0000${ctx.roomId}`;

async function unreadCount(ctx: RoomSyncContext, rangeEvents: EventRow[] | undefined): Promise<number> {
  const key = unreadKey(ctx);
  const cached = ctx.unread?.get(key);
  let count: number;
  // Carry the last count forward with the events of this range, unless something could have
  // lowered it: a receipt, a redaction, or a new membership of the user.
  if (
    cached &&
    rangeEvents &&
    cached.at === ctx.since &&
    !ctx.receiptsChanged &&
    ctx.membershipStream <= cached.at &&
    !rangeEvents.some((e) => e.type === 'm.room.redaction')
  ) {
    count = cached.count;
    for (const e of rangeEvents) if (e.sender !== ctx.userId && NOTIFYING_TYPES.includes(e.type)) count++;
  } else {
    count = await ctx.stores.events.countUnread(ctx.roomId, ctx.userId, ctx.membershipStream, NOTIFYING_TYPES);
  }
  return rememberUnread(ctx, count, key);
}

/** Keeps the room's count at `upTo`, so that the next sync can carry it forward instead of recounting. */
export function rememberUnread(ctx: RoomSyncContext, count: number, key = unreadKey(ctx)): number {
  if (ctx.unread) {
    const known = ctx.unread.get(key);
    if (known) {
      known.at = ctx.upTo;
      known.count = count;
    } else {
      if (ctx.unread.size >= MAX_CACHED_UNREAD) ctx.unread.clear();
      ctx.unread.set(key, { at: ctx.upTo, count });
    }
  }
  return count;
}

/** The memberships that count for a room's summary. */
export const SUMMARY_MEMBERSHIPS = ['join', 'invite'] as const;

function summaryOf(userId: string, members: MembershipRow[]) {
  const joined = members.filter((m) => m.membership === 'join').length;
  const heroes = members
    .filter((m) => m.userId !== userId)
    .map((m) => m.userId)
    .sort()
    .slice(0, 5);
  return { 'm.heroes': heroes, 'm.joined_member_count': joined, 'm.invited_member_count': members.length - joined };
}

export async function invitedRoom(ctx: RoomSyncContext, inviteEvent: EventRow) {
  const state: Array<ReturnType<typeof strippedEvent>> = [];
  for (const type of INVITE_STATE_TYPES) {
    const row = await ctx.stores.events.currentStateEvent(ctx.roomId, type, '');
    if (row) state.push(strippedEvent(row));
  }
  const inviter = await ctx.stores.events.currentStateEvent(ctx.roomId, 'm.room.member', inviteEvent.sender);
  if (inviter) state.push(strippedEvent(inviter));
  state.push(strippedEvent(inviteEvent));
  return { invite_state: { events: state } };
}

/** A room the user left (or was kicked or banned from): what happened up to and including that. */
export async function leftRoom(ctx: RoomSyncContext, accountData: Array<{ type: string; content: Record<string, unknown> }>) {
  const { events, limited, start } = await latestVisible(ctx, ctx.membershipStream, ctx.since, undefined);
  const state = filterState(ctx, await ctx.stores.events.stateAt(ctx.roomId, start - 1), events);
  const shownState = ctx.since === undefined ? state : [];
  const txnIds = await ownTxnIds(ctx, events);
  return {
    timeline: { events: format(ctx, events, txnIds), limited, prev_batch: token((events[0]?.streamOrdering ?? ctx.membershipStream + 1) - 1) },
    state: { events: format(ctx, shownState, txnIds) },
    account_data: { events: accountData },
  };
}
