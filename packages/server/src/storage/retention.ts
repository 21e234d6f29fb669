/**
 * What the retention purge reads and deletes: expired events (by the events_expires index), legal
 * holds, redactions waiting for their leftovers to be erased, media nothing references any more, and
 * to-device leftovers. Every "find" skips what a legal hold covers, in SQL, so a batch LIMIT never
 * fills up with held rows.
 */
import { sql, type Kysely } from 'kysely';
import type { Engine } from './database.ts';
import type { Database } from './schema.ts';

export type HoldKind = 'user' | 'room';

export interface LegalHold {
  holdId: string;
  kind: HoldKind;
  target: string;
  reason: string;
  createdBy: string;
  createdTs: number;
}

export interface ExpiredEvent {
  streamOrdering: number;
  eventId: string;
  roomId: string;
  sender: string;
}

export interface PendingErasure {
  eventId: string;
  roomId: string;
  sender: string;
  redactedTs: number;
}

export interface RetentionStore {
  placeHold(hold: LegalHold): Promise<void>;
  /** The hold, removed; undefined when there was none. */
  releaseHold(holdId: string): Promise<LegalHold | undefined>;
  listHolds(): Promise<LegalHold[]>;
  /** Whether a hold covers the room or the user. */
  isHeld(roomId: string, userId: string): Promise<boolean>;

  /** Up to `limit` non-held events whose expiry is at or before `now`, soonest first. */
  expiredEvents(now: number, limit: number): Promise<ExpiredEvent[]>;
  /** Edits (m.replace) of the given events: they carry the edited text. */
  editsOf(eventIds: readonly string[]): Promise<ExpiredEvent[]>;
  /** Deletes event rows and what hangs off them by event id (transaction ids, media links, erasure queue). */
  deleteEvents(eventIds: readonly string[]): Promise<void>;
  /** Replaces an event's stored content with its pruned form and takes it off the expiry index. */
  pruneEvent(eventId: string, json: string, unsigned: string, marker: string): Promise<void>;
  /** Moves the expiry of the room's messages earlier where a new, shorter policy says so. */
  shortenRoomExpiry(roomId: string, maxLifetimeMs: number): Promise<void>;

  queueErasure(entry: PendingErasure & { originalJson: string | null }): Promise<void>;
  /** Up to `limit` non-held redactions made at or before `redactedBefore`. */
  dueErasures(redactedBefore: number, limit: number): Promise<PendingErasure[]>;
  deleteErasures(eventIds: readonly string[]): Promise<void>;
  /** The state event that replaced `eventId` (it holds the redacted content as unsigned.prev_content). */
  stateSuccessorOf(eventId: string): Promise<{ eventId: string; unsigned: string } | undefined>;
  setUnsigned(eventId: string, unsigned: string): Promise<void>;

  /** Media ids the events link to. */
  mediaOf(eventIds: readonly string[]): Promise<string[]>;
  /** Unlinks the events from their media. */
  unlinkMedia(eventIds: readonly string[]): Promise<void>;
  /** Of `mediaIds`, those no event references any more, with the content hash of each. */
  unreferencedMedia(mediaIds: readonly string[]): Promise<Array<{ mediaId: string; sha256: string | null }>>;
  deleteMedia(mediaIds: readonly string[]): Promise<void>;
  /** Whether any media row still names these bytes (identical uploads share one file). */
  contentInUse(sha256: string): Promise<boolean>;

  markStream(now: number, position: number): Promise<void>;
  /** The newest stream position sampled at or before `ts` (0 if none), and forgets older samples but that one. */
  streamPositionAt(ts: number): Promise<number>;
  /** Deletes up to `limit` to-device messages at or before `position`, or for devices that no longer exist. */
  deleteStaleToDevice(position: number, limit: number): Promise<number>;
  deleteOldToDeviceTxns(before: number): Promise<number>;

  /** SQLite: returns freed pages to the file system when the database was created with incremental auto-vacuum; checkpoints the WAL. */
  compact(maxPages: number): Promise<{ freedPages: number } | undefined>;
  /** Runs `work` unless another process holds the purge lock (PostgreSQL advisory lock); undefined when skipped. */
  exclusively<T>(work: () => Promise<T>): Promise<T | undefined>;
}

/** The purge job's PostgreSQL advisory lock key ("CADRETEN" as hex-ish digits). */
const PURGE_LOCK_KEY = 0x0cad4e7e;

const notHeld = (alias: string, roomColumn: string, userColumn: string) =>
  sql`not exists (select 1 from legal_holds h where (h.kind = 'room' and h.target = ${sql.ref(`${alias}.${roomColumn}`)}) or (h.kind = 'user' and h.target = ${sql.ref(`${alias}.${userColumn}`)}))`;

const toHold = (r: Database['legal_holds']): LegalHold => ({
  holdId: r.hold_id,
  kind: r.kind as HoldKind,
  target: r.target,
  reason: r.reason,
  createdBy: r.created_by,
  createdTs: Number(r.created_ts),
});

export class KyselyRetentionStore implements RetentionStore {
  readonly #db: Kysely<Database>;
  readonly #engine: Engine;
  constructor(db: Kysely<Database>, engine: Engine) {
    this.#db = db;
    this.#engine = engine;
  }

  async placeHold(hold: LegalHold) {
    await this.#db
      .insertInto('legal_holds')
      .values({ hold_id: hold.holdId, kind: hold.kind, target: hold.target, reason: hold.reason, created_by: hold.createdBy, created_ts: hold.createdTs })
      .execute();
  }

  async releaseHold(holdId: string) {
    const row = await this.#db.selectFrom('legal_holds').selectAll().where('hold_id', '=', holdId).executeTakeFirst();
    if (!row) return undefined;
    await this.#db.deleteFrom('legal_holds').where('hold_id', '=', holdId).execute();
    return toHold(row);
  }

  async listHolds() {
    return (await this.#db.selectFrom('legal_holds').selectAll().orderBy('created_ts').orderBy('hold_id').execute()).map(toHold);
  }

  async isHeld(roomId: string, userId: string) {
    const { rows } = await sql<{ one: number }>`
      select 1 as one from legal_holds where (kind = 'room' and target = ${roomId}) or (kind = 'user' and target = ${userId}) limit 1`.execute(this.#db);
    return rows.length > 0;
  }

  async expiredEvents(now: number, limit: number) {
    const { rows } = await sql<{ stream_ordering: number; event_id: string; room_id: string; sender: string }>`
      select e.stream_ordering, e.event_id, e.room_id, e.sender from events e
      where e.expires_ts is not null and e.expires_ts <= ${now} and ${notHeld('e', 'room_id', 'sender')}
      order by e.expires_ts limit ${limit}`.execute(this.#db);
    return rows.map((r) => ({ streamOrdering: Number(r.stream_ordering), eventId: r.event_id, roomId: r.room_id, sender: r.sender }));
  }

  async editsOf(eventIds: readonly string[]) {
    if (eventIds.length === 0) return [];
    const { rows } = await sql<{ stream_ordering: number; event_id: string; room_id: string; sender: string }>`
      select stream_ordering, event_id, room_id, sender from events
      where relates_to in (${sql.join(eventIds)}) and rel_type = 'm.replace'`.execute(this.#db);
    return rows.map((r) => ({ streamOrdering: Number(r.stream_ordering), eventId: r.event_id, roomId: r.room_id, sender: r.sender }));
  }

  async deleteEvents(eventIds: readonly string[]) {
    if (eventIds.length === 0) return;
    const ids = sql.join(eventIds);
    await sql`delete from event_txns where event_id in (${ids})`.execute(this.#db);
    await sql`delete from media_references where event_id in (${ids})`.execute(this.#db);
    await sql`delete from redaction_erasures where event_id in (${ids})`.execute(this.#db);
    await sql`delete from events where event_id in (${ids})`.execute(this.#db);
  }

  async pruneEvent(eventId: string, json: string, unsigned: string, marker: string) {
    await this.#db
      .updateTable('events')
      .set({ json, unsigned, redacted_by: marker, relates_to: null, rel_type: null, expires_ts: null })
      .where('event_id', '=', eventId)
      .execute();
  }

  async shortenRoomExpiry(roomId: string, maxLifetimeMs: number) {
    await sql`
      update events set expires_ts = origin_server_ts + ${maxLifetimeMs}
      where room_id = ${roomId} and state_key is null and redacted_by is null
      and (expires_ts is null or expires_ts > origin_server_ts + ${maxLifetimeMs})`.execute(this.#db);
  }

  async queueErasure(e: PendingErasure & { originalJson: string | null }) {
    await this.#db
      .insertInto('redaction_erasures')
      .values({ event_id: e.eventId, room_id: e.roomId, sender: e.sender, redacted_ts: e.redactedTs, original_json: e.originalJson })
      .onConflict((oc) => oc.column('event_id').doNothing())
      .execute();
  }

  async dueErasures(redactedBefore: number, limit: number) {
    const { rows } = await sql<{ event_id: string; room_id: string; sender: string; redacted_ts: number }>`
      select r.event_id, r.room_id, r.sender, r.redacted_ts from redaction_erasures r
      where r.redacted_ts <= ${redactedBefore} and ${notHeld('r', 'room_id', 'sender')}
      order by r.redacted_ts limit ${limit}`.execute(this.#db);
    return rows.map((r) => ({ eventId: r.event_id, roomId: r.room_id, sender: r.sender, redactedTs: Number(r.redacted_ts) }));
  }

  async deleteErasures(eventIds: readonly string[]) {
    if (eventIds.length === 0) return;
    await this.#db.deleteFrom('redaction_erasures').where('event_id', 'in', [...eventIds]).execute();
  }

  async stateSuccessorOf(eventId: string) {
    const { rows } = await sql<{ event_id: string; unsigned: string }>`
      select n.event_id, n.unsigned from events e join events n
        on n.room_id = e.room_id and n.type = e.type and n.state_key = e.state_key and n.stream_ordering > e.stream_ordering
      where e.event_id = ${eventId} and e.state_key is not null
      order by n.stream_ordering limit 1`.execute(this.#db);
    return rows[0] && { eventId: rows[0].event_id, unsigned: rows[0].unsigned };
  }

  async setUnsigned(eventId: string, unsigned: string) {
    await this.#db.updateTable('events').set({ unsigned }).where('event_id', '=', eventId).execute();
  }

  async mediaOf(eventIds: readonly string[]) {
    if (eventIds.length === 0) return [];
    const rows = await this.#db.selectFrom('media_references').select('media_id').distinct().where('event_id', 'in', [...eventIds]).execute();
    return rows.map((r) => r.media_id);
  }

  async unlinkMedia(eventIds: readonly string[]) {
    if (eventIds.length === 0) return;
    await this.#db.deleteFrom('media_references').where('event_id', 'in', [...eventIds]).execute();
  }

  async unreferencedMedia(mediaIds: readonly string[]) {
    if (mediaIds.length === 0) return [];
    const rows = await this.#db
      .selectFrom('media as m')
      .select(['m.media_id', 'm.sha256'])
      .where('m.media_id', 'in', [...mediaIds])
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('media_references as r').select('r.media_id').whereRef('r.media_id', '=', 'm.media_id'))))
      .execute();
    return rows.map((r) => ({ mediaId: r.media_id, sha256: r.sha256 }));
  }

  async deleteMedia(mediaIds: readonly string[]) {
    if (mediaIds.length === 0) return;
    await this.#db.deleteFrom('media').where('media_id', 'in', [...mediaIds]).execute();
  }

  async contentInUse(sha256: string) {
    return (await this.#db.selectFrom('media').select('media_id').where('sha256', '=', sha256).limit(1).executeTakeFirst()) !== undefined;
  }

  async markStream(now: number, position: number) {
    await this.#db
      .insertInto('retention_stream_marks')
      .values({ ts: now, stream_position: position })
      .onConflict((oc) => oc.column('ts').doUpdateSet({ stream_position: position }))
      .execute();
  }

  async streamPositionAt(ts: number) {
    const row = await this.#db.selectFrom('retention_stream_marks').select(['ts', 'stream_position']).where('ts', '<=', ts).orderBy('ts', 'desc').limit(1).executeTakeFirst();
    if (!row) return 0;
    await this.#db.deleteFrom('retention_stream_marks').where('ts', '<', row.ts).execute();
    return Number(row.stream_position);
  }

  async deleteStaleToDevice(position: number, limit: number) {
    // Row values in IN work on both engines (SQLite ≥ 3.15); a bounded subquery keeps each delete short.
    const result = await sql`
      delete from to_device_messages where (user_id, device_id, stream_id) in (
        select m.user_id, m.device_id, m.stream_id from to_device_messages m
        where m.stream_id <= ${position}
        or not exists (select 1 from devices d where d.user_id = m.user_id and d.device_id = m.device_id)
        limit ${limit})`.execute(this.#db);
    return Number(result.numAffectedRows ?? 0);
  }

  async deleteOldToDeviceTxns(before: number) {
    const result = await this.#db.deleteFrom('to_device_txns').where('created_ts', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async compact(maxPages: number) {
    if (this.#engine !== 'sqlite') return undefined;
    const mode = await sql<{ auto_vacuum: number }>`pragma auto_vacuum`.execute(this.#db);
    const before = await sql<{ freelist_count: number }>`pragma freelist_count`.execute(this.#db);
    const free = Number(before.rows[0]?.freelist_count ?? 0);
    // 2 = incremental: give up to maxPages free pages back to the file system (short; never a full VACUUM).
    if (Number(mode.rows[0]?.auto_vacuum) === 2 && free > 0) await sql.raw(`pragma incremental_vacuum(${Math.floor(maxPages)})`).execute(this.#db);
    // Old page images of deleted rows linger in the WAL until a checkpoint overwrites them.
    await sql`pragma wal_checkpoint(TRUNCATE)`.execute(this.#db);
    const after = await sql<{ freelist_count: number }>`pragma freelist_count`.execute(this.#db);
    return { freedPages: free - Number(after.rows[0]?.freelist_count ?? 0) };
  }

  async exclusively<T>(work: () => Promise<T>): Promise<T | undefined> {
    // SQLite is one process's embedded database: the caller's in-process guard is enough.
    if (this.#engine !== 'postgres') return work();
    return this.#db.connection().execute(async (connection) => {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${PURGE_LOCK_KEY}) as locked`.execute(connection);
      if (!rows[0]?.locked) return undefined;
      try {
        return await work();
      } finally {
        await sql`select pg_advisory_unlock(${PURGE_LOCK_KEY})`.execute(connection);
      }
    });
  }
}
