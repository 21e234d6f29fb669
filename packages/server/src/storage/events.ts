/**
 * The event log and room state. Events are appended in stream order; current state is kept per
 * (room, type, state_key); state at any earlier position is derived from the log (rooms here have a
 * linear history, so "the latest state event at or before P" is the state at P).
 */
import { sql, type CompiledQuery, type Kysely } from 'kysely';
import type { Engine } from './database.ts';
import type { Database, EventsTable } from './schema.ts';

export interface EventRow {
  streamOrdering: number;
  eventId: string;
  roomId: string;
  type: string;
  stateKey: string | null;
  sender: string;
  originServerTs: number;
  depth: number;
  /** The event as signed, content pruned in place once redacted. */
  json: string;
  /** Server-side extras for clients (prev_content, replaces_state, redacted_because). */
  unsigned: string;
  redactedBy: string | null;
}

export interface NewEventRow extends Omit<EventRow, 'redactedBy'> {
  relatesTo: string | null;
  relType: string | null;
  /** When retention purges the event's content (compliance/retention); null or absent: kept. */
  expiresTs?: number | null;
}

export interface MembershipRow {
  roomId: string;
  userId: string;
  membership: string;
  streamOrdering: number;
  eventId: string;
}

/** The sending device's transaction id, which makes a retried send idempotent. */
export interface EventTxn {
  userId: string;
  deviceId: string;
  txnId: string;
}

/** An event to insert, with the transaction id that made it. */
export interface PendingEvent {
  row: NewEventRow;
  txn?: (EventTxn & { now: number }) | undefined;
}

/** What appending an event to a room must know first. */
export interface AppendBasis {
  /** The room's newest event, which the new one builds on (none before the room's creation). */
  tip: { eventId: string; depth: number; streamOrdering: number } | undefined;
  /** An administrator blocked the room. */
  blocked: boolean;
  /** The event a request with the same transaction id already made. */
  earlierEventId: string | undefined;
}

/** An append about to be made: its room and the sending device's transaction. */
export interface AppendIntent {
  roomId: string;
  txn?: EventTxn | undefined;
}

export interface EventStore {
  /** Stores an event, and with it the transaction id that made it (`txn`, at `now`). */
  insert(event: NewEventRow, txn?: EventTxn & { now: number }): Promise<void>;
  /** Stores several events and their transaction ids in one statement (deferred-events.ts). */
  insertMany(events: ReadonlyArray<PendingEvent>): Promise<void>;
  /** The statements `insertMany` runs, compiled (a PostgreSQL batch sends them with its commit). */
  insertManyQueries(events: ReadonlyArray<PendingEvent>): CompiledQuery[];
  setCurrentState(roomId: string, type: string, stateKey: string, eventId: string, streamOrdering: number, membership: string | null): Promise<void>;
  get(eventId: string): Promise<EventRow | undefined>;
  getMany(eventIds: readonly string[]): Promise<EventRow[]>;
  /** The room's tip, its block and the transaction's earlier event, in one round trip (a send makes it inside the serialised write). */
  appendBasis(roomId: string, txn: EventTxn | undefined): Promise<AppendBasis>;
  /** Just the id, depth and position of the room's newest event: what a new event builds on. */
  tip(roomId: string): Promise<{ eventId: string; depth: number; streamOrdering: number } | undefined>;
  currentStateEvent(roomId: string, type: string, stateKey: string): Promise<EventRow | undefined>;
  currentState(roomId: string): Promise<EventRow[]>;
  /** State at `position`: the newest event per (type, state_key) with stream_ordering <= position. */
  stateAt(roomId: string, position: number): Promise<EventRow[]>;
  /** State events of the room that changed in (after, upTo]: their newest value in that range. */
  stateChangedBetween(roomId: string, after: number, upTo: number): Promise<EventRow[]>;
  /** A page of room events; 'b' walks back from `from` (inclusive), 'f' forward from `from` (exclusive). */
  page(roomId: string, from: number, direction: 'b' | 'f', limit: number, to?: number): Promise<EventRow[]>;
  /** Events of the given rooms in (after, upTo], oldest first. */
  inRange(roomIds: readonly string[], after: number, upTo: number): Promise<EventRow[]>;
  /** Events of the room relating to `eventId`, newest first. */
  relations(roomId: string, eventId: string, options: { relType?: string; eventType?: string; before?: number; limit: number }): Promise<EventRow[]>;
  /** Current memberships of a user: every room with a member event for them. */
  roomsOf(userId: string): Promise<MembershipRow[]>;
  /** Current members of a room with the given memberships. */
  members(roomId: string, memberships?: readonly string[]): Promise<MembershipRow[]>;
  /** Every membership change of one user in one room, oldest first (history visibility). */
  membershipHistory(roomId: string, userId: string): Promise<Array<{ streamOrdering: number; membership: string }>>;
  /** Every history_visibility change of a room, oldest first. */
  visibilityHistory(roomId: string): Promise<Array<{ streamOrdering: number; visibility: string }>>;
  replaceRedacted(eventId: string, json: string, unsigned: string, redactedBy: string): Promise<void>;
  /** Unread count in one round trip: events of the types from others after both `floor` and the user's own read receipt. */
  countUnread(roomId: string, userId: string, floor: number, types: readonly string[]): Promise<number>;

  findTxn(userId: string, deviceId: string, txnId: string): Promise<string | undefined>;
  /** The transaction ids a device used for the given events (for unsigned.transaction_id). */
  txnIdsOf(userId: string, deviceId: string, eventIds: readonly string[]): Promise<Map<string, string>>;
}

export const toRow = (r: EventsTable): EventRow => ({
  streamOrdering: Number(r.stream_ordering),
  eventId: r.event_id,
  roomId: r.room_id,
  type: r.type,
  stateKey: r.state_key,
  sender: r.sender,
  originServerTs: Number(r.origin_server_ts),
  depth: Number(r.depth),
  json: r.json,
  unsigned: r.unsigned,
  redactedBy: r.redacted_by,
});

export const membershipOf = (json: string): string => {
  const content = (JSON.parse(json) as { content?: { membership?: unknown } }).content;
  return typeof content?.membership === 'string' ? content.membership : 'leave';
};

export const historyVisibilityOf = (json: string): string => {
  const v = (JSON.parse(json) as { content?: { history_visibility?: unknown } }).content?.history_visibility;
  return typeof v === 'string' ? v : 'shared';
};

export class KyselyEventStore implements EventStore {
  readonly #db: Kysely<Database>;
  readonly #engine: Engine;
  constructor(db: Kysely<Database>, engine: Engine) {
    this.#db = db;
    this.#engine = engine;
  }

  // The hot paths of sending and syncing use plain SQL templates (same SQL on both engines): the
  // query builder costs several times more per call than the query itself.
  async insert(e: NewEventRow, txn?: EventTxn & { now: number }) {
    await this.insertMany([{ row: e, txn }]);
  }

  async insertMany(pending: ReadonlyArray<PendingEvent>) {
    for (const query of this.insertManyQueries(pending)) await this.#db.executeQuery(query);
  }

  /** The statements `insertMany` runs (a PostgreSQL batch sends them with its commit). */
  insertManyQueries(pending: ReadonlyArray<PendingEvent>): CompiledQuery[] {
    if (pending.length === 0) return [];
    const events = sql`
      insert into events (stream_ordering, event_id, room_id, type, state_key, sender, origin_server_ts, depth, json, unsigned, redacted_by, relates_to, rel_type, expires_ts)
      values ${sql.join(pending.map(({ row: e }) => sql`(${e.streamOrdering}, ${e.eventId}, ${e.roomId}, ${e.type}, ${e.stateKey}, ${e.sender}, ${e.originServerTs}, ${e.depth}, ${e.json}, ${e.unsigned}, ${null}, ${e.relatesTo}, ${e.relType}, ${e.expiresTs ?? null})`))}`;
    const txns = pending.flatMap(({ row, txn }) => (txn ? [sql`(${txn.userId}, ${txn.deviceId}, ${txn.txnId}, ${row.eventId}, ${txn.now})`] : []));
    if (txns.length === 0) return [events.compile(this.#db)];
    const txnRows = sql`insert into event_txns (user_id, device_id, txn_id, event_id, created_ts) values ${sql.join(txns)}`;
    // PostgreSQL: all rows in one statement, one round trip inside the serialised write.
    // SQLite runs in-process, where a second statement costs next to nothing.
    if (this.#engine === 'postgres') return [sql`with txn as (${txnRows}) ${events}`.compile(this.#db)];
    return [events.compile(this.#db), txnRows.compile(this.#db)];
  }

  async appendBasis(roomId: string, txn: EventTxn | undefined): Promise<AppendBasis> {
    const { rows } = await this.#db.executeQuery(appendBasesQuery(this.#db, [{ roomId, txn }]));
    return basesFromRows(rows, 1)[0]!;
  }

  async setCurrentState(roomId: string, type: string, stateKey: string, eventId: string, streamOrdering: number, membership: string | null) {
    await this.#db
      .insertInto('current_state')
      .values({ room_id: roomId, type, state_key: stateKey, event_id: eventId, stream_ordering: streamOrdering, membership })
      .onConflict((oc) => oc.columns(['room_id', 'type', 'state_key']).doUpdateSet({ event_id: eventId, stream_ordering: streamOrdering, membership }))
      .execute();
  }

  async get(eventId: string) {
    const row = await this.#db.selectFrom('events').selectAll().where('event_id', '=', eventId).executeTakeFirst();
    return row && toRow(row);
  }

  async getMany(eventIds: readonly string[]) {
    if (eventIds.length === 0) return [];
    return (await this.#db.selectFrom('events').selectAll().where('event_id', 'in', eventIds).execute()).map(toRow);
  }

  async tip(roomId: string) {
    const { rows } = await sql<{ event_id: string; depth: number; stream_ordering: number }>`
      select event_id, depth, stream_ordering from events where room_id = ${roomId} order by stream_ordering desc limit 1`.execute(this.#db);
    const row = rows[0];
    return row && { eventId: row.event_id, depth: Number(row.depth), streamOrdering: Number(row.stream_ordering) };
  }

  async currentStateEvent(roomId: string, type: string, stateKey: string) {
    const { rows } = await sql<EventsTable>`
      select e.* from current_state s join events e on e.event_id = s.event_id
      where s.room_id = ${roomId} and s.type = ${type} and s.state_key = ${stateKey}`.execute(this.#db);
    return rows[0] && toRow(rows[0]);
  }

  async currentState(roomId: string) {
    const rows = await this.#db
      .selectFrom('current_state as s')
      .innerJoin('events as e', 'e.event_id', 's.event_id')
      .selectAll('e')
      .where('s.room_id', '=', roomId)
      .orderBy('e.stream_ordering')
      .execute();
    return rows.map(toRow);
  }

  async stateAt(roomId: string, position: number) {
    return this.#newestStatePer(roomId, -1, position);
  }

  async stateChangedBetween(roomId: string, after: number, upTo: number) {
    return this.#newestStatePer(roomId, after, upTo);
  }

  async #newestStatePer(roomId: string, after: number, upTo: number) {
    // Once per room of an initial sync: a plain template (see above).
    const { rows } = await sql<EventsTable>`
      select e.* from events e
      where e.room_id = ${roomId} and e.state_key is not null and e.stream_ordering > ${after} and e.stream_ordering <= ${upTo}
      and not exists (
        select newer.stream_ordering from events newer
        where newer.room_id = e.room_id and newer.type = e.type and newer.state_key = e.state_key
        and newer.stream_ordering > e.stream_ordering and newer.stream_ordering <= ${upTo})
      order by e.stream_ordering`.execute(this.#db);
    return rows.map(toRow);
  }

  async page(roomId: string, from: number, direction: 'b' | 'f', limit: number, to?: number) {
    // Once per room of an initial sync: a plain template (see above).
    const { rows } =
      direction === 'b'
        ? await sql<EventsTable>`
            select * from events where room_id = ${roomId} and stream_ordering <= ${from} and stream_ordering > ${to ?? -1}
            order by stream_ordering desc limit ${limit}`.execute(this.#db)
        : await sql<EventsTable>`
            select * from events where room_id = ${roomId} and stream_ordering > ${from} and stream_ordering <= ${to ?? Number.MAX_SAFE_INTEGER}
            order by stream_ordering asc limit ${limit}`.execute(this.#db);
    return rows.map(toRow);
  }

  async inRange(roomIds: readonly string[], after: number, upTo: number) {
    if (roomIds.length === 0 || upTo <= after) return [];
    const { rows } = await sql<EventsTable>`
      select * from events where stream_ordering > ${after} and stream_ordering <= ${upTo}
      and room_id in (${sql.join(roomIds)}) order by stream_ordering`.execute(this.#db);
    return rows.map(toRow);
  }

  async relations(roomId: string, eventId: string, options: { relType?: string; eventType?: string; before?: number; limit: number }) {
    // Another room's event may claim any event id: only relations within the room count.
    let query = this.#db.selectFrom('events').selectAll().where('relates_to', '=', eventId).where('room_id', '=', roomId);
    if (options.relType !== undefined) query = query.where('rel_type', '=', options.relType);
    if (options.eventType !== undefined) query = query.where('type', '=', options.eventType);
    if (options.before !== undefined) query = query.where('stream_ordering', '<', options.before);
    return (await query.orderBy('stream_ordering', 'desc').limit(options.limit).execute()).map(toRow);
  }

  async roomsOf(userId: string) {
    const rows = await this.#db
      .selectFrom('current_state')
      .select(['room_id', 'membership', 'stream_ordering', 'event_id'])
      .where('type', '=', 'm.room.member')
      .where('state_key', '=', userId)
      .execute();
    return rows.map((r) => ({ roomId: r.room_id, userId, membership: r.membership ?? 'leave', streamOrdering: r.stream_ordering, eventId: r.event_id }));
  }

  async members(roomId: string, memberships?: readonly string[]) {
    // Once per room of an initial sync (the summary): a plain template (see above).
    if (memberships?.length === 0) return [];
    const { rows } = await sql<{ state_key: string; membership: string | null; stream_ordering: number; event_id: string }>`
      select state_key, membership, stream_ordering, event_id from current_state
      where room_id = ${roomId} and type = 'm.room.member' ${memberships ? sql`and membership in (${sql.join(memberships)})` : sql``}
      order by stream_ordering`.execute(this.#db);
    return rows.map((r) => ({ roomId, userId: r.state_key, membership: r.membership ?? 'leave', streamOrdering: Number(r.stream_ordering), eventId: r.event_id }));
  }

  async membershipHistory(roomId: string, userId: string) {
    const rows = await this.#db
      .selectFrom('events')
      .select(['stream_ordering', 'json'])
      .where('room_id', '=', roomId)
      .where('type', '=', 'm.room.member')
      .where('state_key', '=', userId)
      .orderBy('stream_ordering')
      .execute();
    return rows.map((r) => ({ streamOrdering: r.stream_ordering, membership: membershipOf(r.json) }));
  }

  async visibilityHistory(roomId: string) {
    const rows = await this.#db
      .selectFrom('events')
      .select(['stream_ordering', 'json'])
      .where('room_id', '=', roomId)
      .where('type', '=', 'm.room.history_visibility')
      .where('state_key', '=', '')
      .orderBy('stream_ordering')
      .execute();
    return rows.map((r) => ({ streamOrdering: r.stream_ordering, visibility: historyVisibilityOf(r.json) }));
  }

  async replaceRedacted(eventId: string, json: string, unsigned: string, redactedBy: string) {
    // Redaction strips m.relates_to from the content, so the event relates to nothing any more.
    await this.#db
      .updateTable('events')
      .set({ json, unsigned, redacted_by: redactedBy, relates_to: null, rel_type: null })
      .where('event_id', '=', eventId)
      .execute();
  }

  async countUnread(roomId: string, userId: string, floor: number, types: readonly string[]) {
    const { rows } = await sql<{ n: number }>`
      select count(*) as n from events where room_id = ${roomId} and stream_ordering > ${floor} and sender <> ${userId}
      and type in (${sql.join(types)}) and redacted_by is null
      and stream_ordering > coalesce((
        select max(event_stream) from receipts where room_id = ${roomId} and user_id = ${userId}
        and receipt_type in ('m.read', 'm.read.private') and thread_id in ('', 'main')), 0)`.execute(this.#db);
    return Number(rows[0]?.n ?? 0);
  }

  async findTxn(userId: string, deviceId: string, txnId: string) {
    const { rows } = await sql<{ event_id: string }>`
      select event_id from event_txns where user_id = ${userId} and device_id = ${deviceId} and txn_id = ${txnId}`.execute(this.#db);
    return rows[0]?.event_id;
  }

  async txnIdsOf(userId: string, deviceId: string, eventIds: readonly string[]) {
    if (eventIds.length === 0) return new Map<string, string>();
    // By event id (the selective index): filtering on user and device in SQL lets SQLite walk the
    // primary key through every transaction the device ever sent.
    const { rows } = await sql<{ event_id: string; txn_id: string; user_id: string; device_id: string }>`
      select event_id, txn_id, user_id, device_id from event_txns where event_id in (${sql.join(eventIds)})`.execute(this.#db);
    return new Map(rows.filter((r) => r.user_id === userId && r.device_id === deviceId).map((r) => [r.event_id, r.txn_id]));
  }
}

/**
 * `appendBasis` for several appends in one query, compiled: a PostgreSQL batch sends it with its
 * opening, so its sends read their bases together (answers by `basesFromRows`).
 */
export function appendBasesQuery(db: Kysely<Database>, intents: ReadonlyArray<AppendIntent>): CompiledQuery {
  const wanted = sql.join(
    intents.map(
      ({ roomId, txn }, i) =>
        sql`(cast(${i} as integer), cast(${roomId} as text), cast(${txn?.userId ?? null} as text), cast(${txn?.deviceId ?? null} as text), cast(${txn?.txnId ?? null} as text))`,
    ),
  );
  // The tip's position through the (room_id, stream_ordering) index, then its row by primary key.
  return sql`
    with wanted (i, room_id, user_id, device_id, txn_id) as (values ${wanted}),
    basis as (
      select w.i,
        (select blocked from rooms r where r.room_id = w.room_id) as blocked,
        (select event_id from event_txns t where t.user_id = w.user_id and t.device_id = w.device_id and t.txn_id = w.txn_id) as earlier,
        (select max(stream_ordering) from events e where e.room_id = w.room_id) as tip
      from wanted w)
    select b.i, b.blocked, b.earlier, e.event_id, e.depth, e.stream_ordering
    from basis b left join events e on e.stream_ordering = b.tip`.compile(db);
}

/** The answers of `appendBasesQuery`, in the order of its intents. */
export function basesFromRows(rows: readonly unknown[], count: number): AppendBasis[] {
  const bases: AppendBasis[] = new Array(count);
  for (const row of rows as Array<{ i: number; blocked: number | null; earlier: string | null; event_id: string | null; depth: number | null; stream_ordering: number | null }>) {
    bases[Number(row.i)] = {
      tip: row.event_id === null ? undefined : { eventId: row.event_id, depth: Number(row.depth), streamOrdering: Number(row.stream_ordering) },
      blocked: Number(row.blocked ?? 0) === 1,
      earlierEventId: row.earlier ?? undefined,
    };
  }
  return bases;
}
