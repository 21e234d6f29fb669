/**
 * Reads for many rooms at once, for the rooms a /sync shows in full (an initial sync, a room joined
 * since the last one). The per-room reads of the event store cost a round trip each; on PostgreSQL
 * those round trips, not the queries, were what an initial sync of 100 rooms spent its time on.
 * Each method here answers for a whole list of rooms in one statement (same SQL on both engines),
 * grouped by room.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { historyVisibilityOf, membershipOf, toRow, type EventRow, type MembershipRow } from './events.ts';
import type { Database, EventsTable } from './schema.ts';

export interface SyncBatchStore {
  /** Per room: its newest `perRoom` events at or before `upTo`, newest first (what `events.page(room, upTo, 'b', perRoom)` returns). */
  latestEvents(roomIds: readonly string[], upTo: number, perRoom: number): Promise<Map<string, EventRow[]>>;
  /**
   * Per room: the state at its own position (as `events.stateAt`), oldest first. With `onlyMembers`,
   * the room's member events are limited to those (room, user) pairs (lazy-loaded members).
   */
  stateAt(positions: ReadonlyArray<{ roomId: string; position: number }>, onlyMembers?: ReadonlyArray<{ roomId: string; userId: string }>): Promise<Map<string, EventRow[]>>;
  /** Per room: what `events.countUnread(room, userId, floor, types)` counts; rooms with none are absent. */
  countUnread(floors: ReadonlyArray<{ roomId: string; floor: number }>, userId: string, types: readonly string[]): Promise<Map<string, number>>;
  /** Per room: its current members with the given memberships. */
  members(roomIds: readonly string[], memberships: readonly string[]): Promise<Map<string, MembershipRow[]>>;
  /** Per room: every membership change of the user, oldest first (history visibility). */
  membershipHistories(roomIds: readonly string[], userId: string): Promise<Map<string, Array<{ streamOrdering: number; membership: string }>>>;
  /** Per room: every history_visibility change, oldest first. */
  visibilityHistories(roomIds: readonly string[]): Promise<Map<string, Array<{ streamOrdering: number; visibility: string }>>>;
}

/** `(values (?), (?), …)`: the room list as a table to join on. */
const roomList = (roomIds: readonly string[]) => sql.join(roomIds.map((id) => sql`(${id})`));
/** `(values (?, ?), …)` with a typed position (PostgreSQL would take an untyped parameter for text). */
const roomPositions = (rows: ReadonlyArray<{ roomId: string; position: number }>) =>
  sql.join(rows.map((r) => sql`(${r.roomId}, cast(${r.position} as bigint))`));

function groupByRoom<T>(rows: readonly T[], roomOf: (row: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const key = roomOf(row);
    const list = map.get(key);
    if (list) list.push(row);
    else map.set(key, [row]);
  }
  return map;
}

export class KyselySyncBatchStore implements SyncBatchStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async latestEvents(roomIds: readonly string[], upTo: number, perRoom: number) {
    if (roomIds.length === 0 || perRoom <= 0) return new Map<string, EventRow[]>();
    // Per room, the position of its perRoom-th newest event (one index walk), then the events from
    // there: the cost follows the events returned, not the size of the rooms' histories (a
    // row_number() window over each room would rank every event the room ever had).
    const { rows } = await sql<EventsTable>`
      with r(room_id) as (values ${roomList(roomIds)}),
      cut as (
        select r.room_id, (
          select x.stream_ordering from events x where x.room_id = r.room_id and x.stream_ordering <= ${upTo}
          order by x.stream_ordering desc limit 1 offset ${perRoom - 1}) as floor
        from r)
      select e.* from cut join events e on e.room_id = cut.room_id
      where e.stream_ordering <= ${upTo} and e.stream_ordering >= coalesce(cut.floor, -1)
      order by e.stream_ordering desc`.execute(this.#db);
    return groupByRoom(rows.map(toRow), (e) => e.roomId);
  }

  async stateAt(positions: ReadonlyArray<{ roomId: string; position: number }>, onlyMembers?: ReadonlyArray<{ roomId: string; userId: string }>) {
    if (positions.length === 0) return new Map<string, EventRow[]>();
    const wanted: RawBuilder<unknown> =
      onlyMembers === undefined
        ? sql``
        : onlyMembers.length === 0
          ? sql`and e.type <> 'm.room.member'`
          : sql`and (e.type <> 'm.room.member' or exists (select 1 from w where w.room_id = e.room_id and w.user_id = e.state_key))`;
    const wantedTable = onlyMembers && onlyMembers.length > 0 ? sql`, w(room_id, user_id) as (values ${sql.join(onlyMembers.map((m) => sql`(${m.roomId}, ${m.userId})`))})` : sql``;
    // The newest event per (type, state_key) at or before the room's position: as events.stateAt.
    const { rows } = await sql<EventsTable>`
      with p(room_id, pos) as (values ${roomPositions(positions)})${wantedTable}
      select e.* from p join events e on e.room_id = p.room_id
      where e.state_key is not null and e.stream_ordering <= p.pos ${wanted}
      and not exists (
        select newer.stream_ordering from events newer
        where newer.room_id = e.room_id and newer.type = e.type and newer.state_key = e.state_key
        and newer.stream_ordering > e.stream_ordering and newer.stream_ordering <= p.pos)
      order by e.stream_ordering`.execute(this.#db);
    return groupByRoom(rows.map(toRow), (e) => e.roomId);
  }

  async countUnread(floors: ReadonlyArray<{ roomId: string; floor: number }>, userId: string, types: readonly string[]) {
    if (floors.length === 0 || types.length === 0) return new Map<string, number>();
    // The user's read receipt per room first, so that it is looked up once per room, not per event.
    const { rows } = await sql<{ room_id: string; n: number }>`
      with p(room_id, pos) as (values ${roomPositions(floors.map((f) => ({ roomId: f.roomId, position: f.floor })))}),
      r as (
        select room_id, max(event_stream) as read_up_to from receipts
        where room_id in (${sql.join(floors.map((f) => f.roomId))}) and user_id = ${userId}
        and receipt_type in ('m.read', 'm.read.private') and thread_id in ('', 'main')
        group by room_id)
      select e.room_id, count(*) as n from p join events e on e.room_id = p.room_id left join r on r.room_id = p.room_id
      where e.stream_ordering > p.pos and e.stream_ordering > coalesce(r.read_up_to, 0)
      and e.sender <> ${userId} and e.type in (${sql.join(types)}) and e.redacted_by is null
      group by e.room_id`.execute(this.#db);
    return new Map(rows.map((r) => [r.room_id, Number(r.n)]));
  }

  async members(roomIds: readonly string[], memberships: readonly string[]) {
    if (roomIds.length === 0 || memberships.length === 0) return new Map<string, MembershipRow[]>();
    const { rows } = await sql<{ room_id: string; state_key: string; membership: string | null; stream_ordering: number; event_id: string }>`
      select room_id, state_key, membership, stream_ordering, event_id from current_state
      where room_id in (${sql.join(roomIds)}) and type = 'm.room.member' and membership in (${sql.join(memberships)})
      order by stream_ordering`.execute(this.#db);
    return groupByRoom(
      rows.map((r) => ({ roomId: r.room_id, userId: r.state_key, membership: r.membership ?? 'leave', streamOrdering: Number(r.stream_ordering), eventId: r.event_id })),
      (m) => m.roomId,
    );
  }

  async membershipHistories(roomIds: readonly string[], userId: string) {
    if (roomIds.length === 0) return new Map<string, Array<{ streamOrdering: number; membership: string }>>();
    const { rows } = await sql<{ room_id: string; stream_ordering: number; json: string }>`
      select room_id, stream_ordering, json from events
      where room_id in (${sql.join(roomIds)}) and type = 'm.room.member' and state_key = ${userId}
      order by stream_ordering`.execute(this.#db);
    const grouped = groupByRoom(rows, (r) => r.room_id);
    return new Map([...grouped].map(([roomId, list]) => [roomId, list.map((r) => ({ streamOrdering: Number(r.stream_ordering), membership: membershipOf(r.json) }))]));
  }

  async visibilityHistories(roomIds: readonly string[]) {
    if (roomIds.length === 0) return new Map<string, Array<{ streamOrdering: number; visibility: string }>>();
    const { rows } = await sql<{ room_id: string; stream_ordering: number; json: string }>`
      select room_id, stream_ordering, json from events
      where room_id in (${sql.join(roomIds)}) and type = 'm.room.history_visibility' and state_key = ''
      order by stream_ordering`.execute(this.#db);
    const grouped = groupByRoom(rows, (r) => r.room_id);
    return new Map([...grouped].map(([roomId, list]) => [roomId, list.map((r) => ({ streamOrdering: Number(r.stream_ordering), visibility: historyVisibilityOf(r.json) }))]));
  }
}
