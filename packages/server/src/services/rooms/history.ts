/**
 * Reading a room's history and state (spec: "Getting events for a room", "Event context",
 * "Relationships"): /messages, /context, /event, /state, /members, /joined_members and /relations.
 *
 * Every read goes through one access check: the caller must be, or have been, joined to the room
 * (403 otherwise). Someone who left reads the room as it was when they left. Each event is then
 * passed through the history-visibility rules; an event the caller may not see is reported exactly
 * like one that does not exist (404), so its existence does not leak.
 *
 * Pagination tokens are "s<N>": the gap just after stream position N. Walking back from s<N> returns
 * events at or before N; walking forward returns events after N ("t<N>" is accepted as well).
 */
import { MatrixError } from '@caduceus/core';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import type { ReadPath } from '../../compliance/audit/index.ts';
import type { EventRow, Stores } from '../../storage/index.ts';
import type { Clock } from '../clock.ts';
import { RoomEventFilterSchema, type Filter } from '../filters.ts';
import type { ServiceDeps } from '../index.ts';
import type { Principal } from '../sessions.ts';
import { eventPasses, roomPasses, type EventFilterLike } from '../sync/event-filter.ts';
import { token } from '../sync/room-sync.ts';
import { clientEvent, type ClientEvent } from './client-events.ts';
import { visibilityFor, type VisibilityCheck } from './visibility.ts';

export const DEFAULT_PAGE_LIMIT = 10;
export const MAX_PAGE_LIMIT = 1000;
/** Most rows one request reads while looking for events the caller may see; then it hands back a token. */
const MAX_SCANNED_ROWS = 5000;
const MEMBERSHIPS = ['join', 'invite', 'knock', 'leave', 'ban'] as const;
export type Membership = (typeof MEMBERSHIPS)[number];
export type Direction = 'b' | 'f';

export interface MessagesRequest {
  from?: string | undefined;
  to?: string | undefined;
  dir: Direction;
  limit?: number | undefined;
  filter?: EventFilterLike | undefined;
}

export interface MembersRequest {
  at?: string | undefined;
  membership?: Membership | undefined;
  not_membership?: Membership | undefined;
}

export interface RelationsRequest {
  from?: string | undefined;
  to?: string | undefined;
  limit?: number | undefined;
  dir?: Direction | undefined;
  recurse?: boolean | undefined;
}

/** What one caller may read of one room. */
interface Access {
  roomId: string;
  principal: Principal;
  /** Whether the caller is joined now. */
  joined: boolean;
  /** For someone no longer joined: the position of the event that ended their membership. */
  upTo: number | undefined;
  visible: VisibilityCheck;
}

interface Scan {
  rows: EventRow[];
  /** Where the scan stopped: continuing from token(boundary) in the same direction picks up after it. */
  boundary: number;
  /** False when the room has nothing further in that direction. */
  more: boolean;
}

/** Parses a pagination token; M_INVALID_PARAM when it is not one of ours. */
export function parsePosition(value: string): number {
  const match = /^[st](\d{1,15})$/.exec(value);
  if (!match) throw new MatrixError('M_INVALID_PARAM', 'Unknown pagination token');
  return Number(match[1]);
}

const roomEventFilterCheck = Compile(RoomEventFilterSchema as TSchema);

/** A resolved `filter` parameter, checked as a RoomEventFilter (M_BAD_JSON when it is not one). */
export function asRoomEventFilter(filter: Filter | undefined): EventFilterLike | undefined {
  if (filter === undefined) return undefined;
  if (!roomEventFilterCheck.Check(filter)) throw new MatrixError('M_BAD_JSON', 'Invalid filter: not a RoomEventFilter');
  return filter as EventFilterLike;
}

const clampLimit = (limit: number | undefined, fallback = DEFAULT_PAGE_LIMIT) => Math.min(Math.max(limit ?? fallback, 0), MAX_PAGE_LIMIT);
const membershipOf = (row: EventRow) => {
  const membership = (JSON.parse(row.json) as { content?: { membership?: unknown } }).content?.membership;
  return typeof membership === 'string' ? membership : 'leave';
};
const notFound = () => new MatrixError('M_NOT_FOUND', 'Event not found');
const notInRoom = () => new MatrixError('M_FORBIDDEN', 'You are not in this room');

export class RoomHistoryService {
  readonly #stores: Stores;
  readonly #clock: Clock;
  readonly #audit: ServiceDeps['audit'];

  constructor(deps: Pick<ServiceDeps, 'storage' | 'clock' | 'audit'>) {
    this.#stores = deps.storage;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  /** GET /rooms/{roomId}/messages */
  async messages(principal: Principal, roomId: string, request: MessagesRequest) {
    const access = await this.#access(principal, roomId, 'messages');
    await this.#audit.recordReads('messages', [{ roomId }]);
    const { dir, filter } = request;
    let from = request.from !== undefined ? parsePosition(request.from) : dir === 'b' ? await this.#stores.stream.current() : 0;
    let to = request.to !== undefined ? parsePosition(request.to) : undefined;
    // Someone who left reads nothing after their leave.
    if (access.upTo !== undefined) {
      if (dir === 'b') from = Math.min(from, access.upTo);
      else to = Math.min(to ?? access.upTo, access.upTo);
    }
    const start = token(from);
    if (!roomPasses(filter, roomId)) return { chunk: [], start };
    const scan = await this.#scan(access, from, dir, clampLimit(request.limit), to, filter);
    const response: { chunk: ClientEvent[]; start: string; end?: string; state?: ClientEvent[] } = { chunk: await this.#format(access, scan.rows), start };
    if (scan.more) response.end = token(scan.boundary);
    if (filter?.lazy_load_members && scan.rows.length > 0) {
      const newest = Math.max(...scan.rows.map((r) => r.streamOrdering));
      response.state = await this.#format(access, await this.#membersOf(roomId, newest, scan.rows));
    }
    return response;
  }

  /** GET /rooms/{roomId}/context/{eventId}: the limit is shared between the events before and after. */
  async context(principal: Principal, roomId: string, eventId: string, limit: number | undefined, filter?: EventFilterLike) {
    const access = await this.#access(principal, roomId, 'context');
    await this.#audit.recordReads('context', [{ roomId }]);
    const event = await this.#visibleEvent(access, eventId);
    const total = clampLimit(limit);
    const beforeLimit = Math.floor(total / 2);
    const passes = roomPasses(filter, roomId);
    const before = passes ? await this.#scan(access, event.streamOrdering - 1, 'b', beforeLimit, undefined, filter) : undefined;
    const after = passes ? await this.#scan(access, event.streamOrdering, 'f', total - beforeLimit, access.upTo, filter) : undefined;
    const eventsAfter = after?.rows ?? [];
    // The state at the last event returned (spec), so a client can build the timeline forward from it.
    const last = eventsAfter[eventsAfter.length - 1] ?? event;
    let state = await this.#stores.events.stateAt(roomId, last.streamOrdering);
    if (filter?.lazy_load_members) {
      const senders = new Set([event, ...(before?.rows ?? []), ...eventsAfter].map((r) => r.sender));
      state = state.filter((r) => r.type !== 'm.room.member' || senders.has(r.stateKey ?? ''));
    }
    state = state.filter((r) => eventPasses(filter, { type: r.type, sender: r.sender }));
    return {
      event: (await this.#format(access, [event]))[0]!,
      events_before: await this.#format(access, before?.rows ?? []),
      events_after: await this.#format(access, eventsAfter),
      start: token(before?.boundary ?? event.streamOrdering - 1),
      end: token(after?.boundary ?? event.streamOrdering),
      state: await this.#format(access, state),
    };
  }

  /** GET /rooms/{roomId}/event/{eventId} */
  async event(principal: Principal, roomId: string, eventId: string): Promise<ClientEvent> {
    const access = await this.#access(principal, roomId, 'event');
    await this.#audit.recordReads('event', [{ roomId }]);
    return (await this.#format(access, [await this.#visibleEvent(access, eventId)]))[0]!;
  }

  /** GET /rooms/{roomId}/state: current state, or the state when the caller left. */
  async state(principal: Principal, roomId: string): Promise<ClientEvent[]> {
    const access = await this.#access(principal, roomId, 'state');
    return this.#format(access, await this.#stateOf(access));
  }

  /** GET /rooms/{roomId}/state/{eventType}/{stateKey}: the content, or the whole event with format=event. */
  async stateEvent(principal: Principal, roomId: string, type: string, stateKey: string, format: 'content' | 'event' = 'content') {
    const access = await this.#access(principal, roomId, 'state');
    const row =
      access.upTo === undefined
        ? await this.#stores.events.currentStateEvent(roomId, type, stateKey)
        : (await this.#stores.events.stateAt(roomId, access.upTo)).find((r) => r.type === type && r.stateKey === stateKey);
    if (!row) throw new MatrixError('M_NOT_FOUND', 'The room has no state with that type and key');
    const [event] = await this.#format(access, [row]);
    return format === 'event' ? event! : event!.content;
  }

  /**
   * GET /rooms/{roomId}/members. `at` is a sync or pagination token. Given both `membership` and
   * `not_membership`, an event is kept when either condition holds (spec).
   */
  async members(principal: Principal, roomId: string, request: MembersRequest) {
    const access = await this.#access(principal, roomId);
    let rows: EventRow[];
    if (request.at === undefined && access.upTo === undefined) {
      const current = await this.#stores.events.members(roomId);
      const byId = new Map((await this.#stores.events.getMany(current.map((m) => m.eventId))).map((r) => [r.eventId, r]));
      rows = current.map((m) => byId.get(m.eventId)).filter((r): r is EventRow => r !== undefined);
    } else {
      const at = request.at !== undefined ? parsePosition(request.at) : Number.MAX_SAFE_INTEGER;
      const position = Math.min(at, access.upTo ?? at);
      rows = (await this.#stores.events.stateAt(roomId, position)).filter((r) => r.type === 'm.room.member');
    }
    const { membership, not_membership } = request;
    if (membership !== undefined || not_membership !== undefined) {
      rows = rows.filter((r) => {
        const m = membershipOf(r);
        return (membership !== undefined && m === membership) || (not_membership !== undefined && m !== not_membership);
      });
    }
    return { chunk: await this.#format(access, rows) };
  }

  /** GET /rooms/{roomId}/joined_members: only for those joined now. */
  async joinedMembers(principal: Principal, roomId: string) {
    const access = await this.#access(principal, roomId);
    if (!access.joined) throw notInRoom();
    const members = await this.#stores.events.members(roomId, ['join']);
    const rows = await this.#stores.events.getMany(members.map((m) => m.eventId));
    const joined: Record<string, { display_name?: string; avatar_url?: string }> = {};
    for (const row of rows) {
      if (row.stateKey === null) continue;
      const content = (JSON.parse(row.json) as { content?: Record<string, unknown> }).content ?? {};
      joined[row.stateKey] = {
        ...(typeof content.displayname === 'string' ? { display_name: content.displayname } : {}),
        ...(typeof content.avatar_url === 'string' ? { avatar_url: content.avatar_url } : {}),
      };
    }
    return { joined };
  }

  /**
   * GET /rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]]: the events of this room that
   * relate to a visible event, newest first by default. Only direct relations (recursion depth 1).
   */
  async relations(principal: Principal, roomId: string, eventId: string, relType: string | undefined, eventType: string | undefined, request: RelationsRequest) {
    const access = await this.#access(principal, roomId);
    await this.#visibleEvent(access, eventId);
    const limit = Math.max(clampLimit(request.limit), 1);
    const dir = request.dir ?? 'b';
    const from = request.from !== undefined ? parsePosition(request.from) : undefined;
    const to = request.to !== undefined ? parsePosition(request.to) : undefined;
    // The range is (lower, upper]: walking back it runs from `from` down to `to`, forward the other way round.
    const upper = Math.min((dir === 'b' ? from : to) ?? Infinity, access.upTo ?? Infinity);
    const lower = (dir === 'b' ? to : from) ?? 0;
    // Walking forward reads the range newest first too and turns it round; it reads at most
    // MAX_SCANNED_ROWS relations, which is plenty for the reactions and edits of one event.
    const wanted = dir === 'b' ? limit + 1 : MAX_SCANNED_ROWS;
    const batchSize = Math.min(wanted, MAX_PAGE_LIMIT);
    const found: EventRow[] = [];
    let before = Number.isFinite(upper) ? upper + 1 : undefined;
    for (let scanned = 0; found.length < wanted && scanned < MAX_SCANNED_ROWS; ) {
      const batch = await this.#stores.events.relations(roomId, eventId, { relType, eventType, before, limit: batchSize });
      scanned += batch.length;
      for (const row of batch) if (row.streamOrdering > lower && access.visible(row)) found.push(row);
      const oldest = batch[batch.length - 1];
      if (!oldest || batch.length < batchSize || oldest.streamOrdering <= lower) break;
      before = oldest.streamOrdering;
    }
    const ordered = dir === 'b' ? found : found.reverse();
    const chunk = ordered.slice(0, limit);
    const response: { chunk: ClientEvent[]; next_batch?: string; recursion_depth?: number } = { chunk: await this.#format(access, chunk) };
    const last = chunk[chunk.length - 1];
    if (last && ordered.length > limit) response.next_batch = token(dir === 'b' ? last.streamOrdering - 1 : last.streamOrdering);
    if (request.recurse !== undefined) response.recursion_depth = 1;
    return response;
  }

  /** Who may read what: 403 unless the caller is or was joined; someone who left is held at their leave. */
  /** `via`: a read of events or state, whose refusal goes on the audit trail (coalesced like reads). */
  async #access(principal: Principal, roomId: string, via?: ReadPath): Promise<Access> {
    const history = await this.#stores.events.membershipHistory(roomId, principal.userId);
    let lastJoin = -1;
    history.forEach((m, i) => {
      if (m.membership === 'join') lastJoin = i;
    });
    if (lastJoin < 0) {
      if (via) await this.#audit.recordReads(via, [{ roomId }], 'refused');
      throw notInRoom();
    }
    const joined = lastJoin === history.length - 1;
    return {
      roomId,
      principal,
      joined,
      upTo: joined ? undefined : history[lastJoin + 1]!.streamOrdering,
      visible: await visibilityFor(this.#stores, roomId, principal.userId),
    };
  }

  /** The event, if it is in this room and the caller may see it; 404 otherwise, whichever the reason. */
  async #visibleEvent(access: Access, eventId: string): Promise<EventRow> {
    const row = await this.#stores.events.get(eventId);
    if (!row || row.roomId !== access.roomId || (access.upTo !== undefined && row.streamOrdering > access.upTo) || !access.visible(row)) throw notFound();
    return row;
  }

  /**
   * Up to `limit` events the caller may see and the filter passes, walking from `from` in `dir`
   * (bounded by `to`). Reads in batches; gives up after MAX_SCANNED_ROWS rows and says there is more.
   */
  async #scan(access: Access, from: number, dir: Direction, limit: number, to: number | undefined, filter: EventFilterLike | undefined): Promise<Scan> {
    const rows: EventRow[] = [];
    const needContent = filter?.contains_url !== undefined;
    let boundary = from;
    let scanned = 0;
    if (limit === 0) return { rows, boundary, more: true };
    // One more than asked for, so the last page is known as such; larger batches while little passes.
    for (let batchSize = Math.min(Math.max(limit + 1, 50), MAX_PAGE_LIMIT); ; batchSize = Math.min(batchSize * 2, MAX_PAGE_LIMIT)) {
      const page = await this.#stores.events.page(access.roomId, boundary, dir, batchSize, to);
      scanned += page.length;
      for (const [index, row] of page.entries()) {
        boundary = dir === 'b' ? row.streamOrdering - 1 : row.streamOrdering;
        const content = needContent ? (JSON.parse(row.json) as { content?: Record<string, unknown> }).content ?? {} : undefined;
        if (access.visible(row) && eventPasses(filter, { type: row.type, sender: row.sender, ...(content ? { content } : {}) })) rows.push(row);
        if (rows.length === limit) return { rows, boundary, more: index < page.length - 1 || page.length === batchSize };
      }
      if (page.length < batchSize) {
        // Nothing further: back to the `to` bound (or the start of the room), forward as far as was read.
        return { rows, boundary: dir === 'b' ? (to ?? 0) : Math.max(boundary, to ?? boundary), more: false };
      }
      if (scanned >= MAX_SCANNED_ROWS) return { rows, boundary, more: true };
    }
  }

  /** The member events of `rows`' senders, in the state at `position` (lazy-loading members). */
  async #membersOf(roomId: string, position: number, rows: EventRow[]): Promise<EventRow[]> {
    const senders = new Set(rows.map((r) => r.sender));
    return (await this.#stores.events.stateAt(roomId, position)).filter((r) => r.type === 'm.room.member' && senders.has(r.stateKey ?? ''));
  }

  async #stateOf(access: Access): Promise<EventRow[]> {
    if (access.upTo === undefined) return this.#stores.events.currentState(access.roomId);
    return this.#stores.events.stateAt(access.roomId, access.upTo);
  }

  /** Client events, with unsigned.transaction_id on the calling device's own events. */
  async #format(access: Access, rows: EventRow[]): Promise<ClientEvent[]> {
    const { userId, deviceId } = access.principal;
    const own = rows.filter((r) => r.sender === userId).map((r) => r.eventId);
    const txnIds = await this.#stores.events.txnIdsOf(userId, deviceId, own);
    const now = this.#clock.now();
    return rows.map((row) => clientEvent(row, { now, txnIds }));
  }
}
