/**
 * A bounded in-memory window of the events this process recently committed, per room, so that the
 * common /sync wake-up ("a new message in one of my rooms") is answered without the database.
 *
 * It is only a shortcut, and it answers only what it knows is complete: a room's window covers the
 * positions after its `validFrom`; every event of the room in (validFrom, heard position] is in it.
 *  - The stream writer adds the events of a batch right after its commit, before announcing it.
 *  - A change to a room's events that this process did not write (another server process on
 *    PostgreSQL, heard through the notifier) restarts the room's window after that change.
 *  - Rewrites of stored events (redaction, retention) empty the whole window.
 *  - When the notifier forgets what it knew (reset), so does the window.
 * Callers use it only for ranges the notifier has heard in full (`heardUpTo >= upTo`); anything it
 * cannot answer comes from the database as before.
 */
import type { EventRow, NewEventRow } from '../../storage/index.ts';
import type { ChangeKind, StreamChange } from '../notifier.ts';

/** Events kept per room (older ones are read from the database). */
const MAX_EVENTS_PER_ROOM = 64;
/** Rooms with a window; the least recently written room is dropped first. */
const MAX_ROOMS = 20_000;
/** Entries older than this are not served: background jobs of other processes may rewrite old events. */
const MAX_AGE_MS = 60_000;
/** Own batches remembered until the notifier echoes them (PostgreSQL hears its own NOTIFY too). */
const MAX_OWN_BATCHES = 10_000;

export interface RecentEvent {
  row: EventRow;
  /** When retention removes the event (null: kept). */
  expiresTs: number | null;
  /** The sending device's transaction id, when it sent with one. */
  txn: { userId: string; deviceId: string; txnId: string } | undefined;
  /** performance.now() when committed. */
  addedAt: number;
}

interface RoomWindow {
  /** Events of the room after this position (up to what the notifier heard) are all in `events`. */
  validFrom: number;
  events: RecentEvent[];
}

/** What one write batch committed, collected by the stream writer while its jobs run. */
export interface CommittedEvents {
  rows: NewEventRow[];
  txns: Array<{ userId: string; deviceId: string; txnId: string; eventId: string }>;
  /** A job rewrote or removed stored events (redaction, retention): the window starts over. */
  rewrote: boolean;
}

export class RecentEvents {
  readonly #rooms = new Map<string, RoomWindow>();
  /** Positions below this are unknown to every room (start, reset, rewrite). */
  #floor = Number.MAX_SAFE_INTEGER;
  /** first → last position of batches this process committed and already added. */
  readonly #own = new Map<number, number>();
  /** Event id → entry, for transaction ids of the requester's own events. */
  readonly #byId = new Map<string, RecentEvent>();

  /** Starts at the database's position: nothing before it is known. */
  start(position: number) {
    this.#clear(position);
  }

  /**
   * A batch (first..last) committed these events: this process's stream writer, or (worker threads)
   * another thread's, whose batch may arrive after a later one.
   */
  addCommitted(first: number, last: number, committed: CommittedEvents) {
    if (this.#own.size >= MAX_OWN_BATCHES) this.#own.clear();
    this.#own.set(first, last);
    if (committed.rewrote) {
      this.#clear(last);
      return;
    }
    const txns = new Map(committed.txns.map((t) => [t.eventId, t]));
    const now = performance.now();
    for (const row of committed.rows) {
      let room = this.#rooms.get(row.roomId);
      if (room) this.#rooms.delete(row.roomId);
      // A room not seen since the floor: nothing of it is held, and every event of it after the floor is about to be.
      room ??= { validFrom: this.#floor, events: [] };
      this.#rooms.set(row.roomId, room);
      const txn = txns.get(row.eventId);
      const entry: RecentEvent = {
        row: { ...row, redactedBy: null },
        expiresTs: row.expiresTs ?? null,
        txn: txn && { userId: txn.userId, deviceId: txn.deviceId, txnId: txn.txnId },
        addedAt: now,
      };
      // Positions the window no longer vouches for stay out.
      if (row.streamOrdering <= room.validFrom) continue;
      insertInOrder(room.events, entry);
      this.#byId.set(row.eventId, entry);
      if (room.events.length > MAX_EVENTS_PER_ROOM) {
        const dropped = room.events.shift()!;
        this.#byId.delete(dropped.row.eventId);
        room.validFrom = dropped.row.streamOrdering;
      }
    }
    while (this.#rooms.size > MAX_ROOMS) {
      const [oldest, window] = this.#rooms.entries().next().value!;
      this.#rooms.delete(oldest);
      for (const e of window.events) this.#byId.delete(e.row.eventId);
      // A dropped room falls back to the floor rule: raise the floor past everything dropped.
      this.#floor = Math.max(this.#floor, window.validFrom, window.events.at(-1)?.row.streamOrdering ?? 0);
    }
  }

  /** The notifier heard a change (its own or another process's): forget rooms another process wrote to. */
  observe(change: StreamChange) {
    if (this.#own.get(change.first) === change.position) return;
    const rooms = (change.marks as Partial<Record<ChangeKind, readonly string[]>> | undefined)?.events ?? [];
    for (const roomId of rooms) {
      const room = this.#rooms.get(roomId);
      if (room) {
        // Its events up to the change are not all here; this process's later ones (committed after
        // it, heard before it) are, and stay.
        const kept = room.events.filter((e) => e.row.streamOrdering > change.position);
        for (const e of room.events) if (e.row.streamOrdering <= change.position) this.#byId.delete(e.row.eventId);
        room.events = kept;
        room.validFrom = Math.max(room.validFrom, change.position);
      } else {
        this.#rooms.set(roomId, { validFrom: change.position, events: [] });
      }
    }
  }

  /** The notifier forgot what it knew up to `position`: so does the window. */
  reset(position: number) {
    this.#clear(position);
  }

  /**
   * The events of `roomId` in (since, upTo], oldest first, or undefined when the window cannot
   * vouch for the whole range (then ask the database).
   */
  range(roomId: string, since: number, upTo: number, now: number): EventRow[] | undefined {
    const room = this.#rooms.get(roomId);
    const validFrom = room ? room.validFrom : this.#floor;
    if (since < validFrom) return undefined;
    if (!room) return [];
    const out: EventRow[] = [];
    const oldEnough = performance.now() - MAX_AGE_MS;
    for (let i = room.events.length - 1; i >= 0; i--) {
      const e = room.events[i]!;
      if (e.row.streamOrdering <= since) break;
      if (e.row.streamOrdering > upTo) continue;
      if (e.addedAt < oldEnough || (e.expiresTs !== null && e.expiresTs <= now)) return undefined;
      out.push(e.row);
    }
    return out.reverse();
  }

  /** Transaction ids of `eventIds` sent by this device, or undefined if any of them is not in the window. */
  txnIds(userId: string, deviceId: string, eventIds: readonly string[]): Map<string, string> | undefined {
    const found = new Map<string, string>();
    for (const id of eventIds) {
      const entry = this.#byId.get(id);
      if (!entry) return undefined;
      if (entry.txn && entry.txn.userId === userId && entry.txn.deviceId === deviceId) found.set(id, entry.txn.txnId);
    }
    return found;
  }

  #clear(position: number) {
    this.#rooms.clear();
    this.#byId.clear();
    this.#floor = position;
  }
}

/** Appends `entry`, or puts it in position order when a later event is already there (another thread's batch heard late). */
function insertInOrder(events: RecentEvent[], entry: RecentEvent) {
  let at = events.length;
  while (at > 0 && events[at - 1]!.row.streamOrdering > entry.row.streamOrdering) at--;
  if (at === events.length) events.push(entry);
  else events.splice(at, 0, entry);
}
