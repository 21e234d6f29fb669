/**
 * Wakes /sync long-polls when something for them is committed — no polling of the database per
 * waiter. A waiter says which user it serves and which rooms it watches; a change names the rooms
 * and users it concerns. In-process by default; on PostgreSQL, changes also travel through
 * LISTEN/NOTIFY so that a long-poll held by one server process wakes for a write made by another.
 */
import pg from 'pg';
import { RecentEvents } from './sync/recent-events.ts';

/** Kinds of change besides room events, so /sync can skip looking where nothing changed. */
export type ChangeKind = 'events' | 'typing' | 'receipts' | 'accountData' | 'memberships' | 'deviceLists' | 'toDevice';

export interface StreamChange {
  /** The first and last stream positions of the committed change (positions are contiguous). */
  first: number;
  position: number;
  /** Rooms whose members' long-polls wake. */
  rooms: readonly string[];
  /** Users whose long-polls wake. */
  users: readonly string[];
  /** Per kind, the rooms (events, typing, receipts) or users (account data, memberships) it changed. */
  marks?: Partial<Record<ChangeKind, readonly string[]>> | undefined;
}

export interface WaitInterest {
  userId: string;
  rooms: ReadonlySet<string>;
  /** The position the waiter has already seen; any newer change wakes it at once. */
  since: number;
}

export interface Notifier {
  /** Called after a commit: wakes local waiters (and, across processes, the others'). */
  publish(change: StreamChange): void;
  /** Resolves when a change concerns the interest, the timeout passes, or `signal` aborts. */
  wait(interest: WaitInterest, timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** How many long-polls are waiting in this process. */
  readonly waiting: number;
  /**
   * The highest position up to which this process has heard of every change, with no gap. What
   * /sync may serve; and up to it, `changedSince` answers exactly.
   */
  readonly heardUpTo: number;
  /** Positions below this were committed before the notifier started (or while it was cut off): nothing is known about them. */
  readonly floor: number;
  /** Whether `key` ("e:"+room events, "t:"/"r:" typing/receipts of a room, "a:"/"m:" account data/memberships of a user) changed after `since`. */
  changedSince(key: string, since: number): boolean;
  /** Recently committed events, kept in step with what this notifier heard (see sync/recent-events). */
  readonly recent: RecentEvents;
  /** Starts tracking from the database's current position. */
  start(current: number): void | Promise<void>;
  close(): Promise<void>;
}

interface Waiter {
  interest: WaitInterest;
  wake: () => void;
}

const MARK_PREFIX: Record<ChangeKind, string> = { events: 'e:', typing: 't:', receipts: 'r:', accountData: 'a:', memberships: 'm:', deviceLists: 'd:', toDevice: 'td:' };
/** Set whenever any user's devices or keys change, so /sync knows when to look at all. */
export const ANY_DEVICE_LIST_CHANGE = 'd:*';

export class LocalNotifier implements Notifier {
  readonly #byUser = new Map<string, Set<Waiter>>();
  readonly #byRoom = new Map<string, Set<Waiter>>();
  /** The newest position this process has heard of; a waiter behind it is woken at once. */
  #latest = 0;
  #count = 0;
  #heardUpTo = 0;
  readonly recent = new RecentEvents();
  #floor = Number.MAX_SAFE_INTEGER;
  /** Changes heard out of order (another process notified late), by first position. */
  readonly #pending = new Map<number, number>();
  /** Last position at which each key changed. */
  readonly #lastChanged = new Map<string, number>();
  /** Last position of a change that woke the waiters of each room ("r" + id) or user ("u" + id). */
  readonly #lastWoke = new Map<string, number>();

  get waiting() {
    return this.#count;
  }

  get heardUpTo() {
    return this.#heardUpTo;
  }

  get floor() {
    return this.#floor;
  }

  start(current: number): void {
    this.reset(current);
  }

  /** Forgets what it knew: everything up to `current` counts as "may have changed". */
  protected reset(current: number) {
    this.#floor = current;
    this.#heardUpTo = Math.max(this.#heardUpTo, current);
    this.#latest = Math.max(this.#latest, current);
    this.#pending.clear();
    this.#lastChanged.clear();
    this.#lastWoke.clear();
    this.recent.reset(current);
  }

  changedSince(key: string, since: number): boolean {
    if (since < this.#floor) return true;
    return (this.#lastChanged.get(key) ?? 0) > since;
  }

  publish(change: StreamChange): void {
    this.deliver(change);
  }

  #record(change: StreamChange) {
    // Before the gap-free mark moves: whoever trusts it must find the window already in step.
    this.recent.observe(change);
    const note = (key: string) => {
      if ((this.#lastChanged.get(key) ?? 0) < change.position) this.#lastChanged.set(key, change.position);
    };
    for (const [kind, keys] of Object.entries(change.marks ?? {}) as Array<[ChangeKind, readonly string[]]>) {
      for (const key of keys) note(MARK_PREFIX[kind] + key);
      if (kind === 'deviceLists' && keys.length > 0) note(ANY_DEVICE_LIST_CHANGE);
    }
    // Advance the gap-free mark over this change and any that were waiting for it.
    if (change.first <= this.#heardUpTo + 1) {
      this.#heardUpTo = Math.max(this.#heardUpTo, change.position);
      for (let next = this.#pending.get(this.#heardUpTo + 1); next !== undefined; next = this.#pending.get(this.#heardUpTo + 1)) {
        this.#pending.delete(this.#heardUpTo + 1);
        this.#heardUpTo = next;
      }
    } else {
      this.#pending.set(change.first, change.position);
    }
  }

  /** Wakes the local waiters a change concerns. */
  protected deliver(change: StreamChange | 'everyone'): void {
    if (change === 'everyone') {
      for (const set of this.#byUser.values()) for (const waiter of [...set]) waiter.wake();
      return;
    }
    this.#record(change);
    if (change.position > this.#latest) this.#latest = change.position;
    const woken = new Set<Waiter>();
    for (const user of change.users) {
      this.#noteWoke('u' + user, change.position);
      for (const waiter of this.#byUser.get(user) ?? []) woken.add(waiter);
    }
    for (const room of change.rooms) {
      this.#noteWoke('r' + room, change.position);
      for (const waiter of this.#byRoom.get(room) ?? []) woken.add(waiter);
    }
    for (const waiter of woken) waiter.wake();
  }

  #noteWoke(key: string, position: number) {
    if ((this.#lastWoke.get(key) ?? 0) < position) this.#lastWoke.set(key, position);
  }

  /**
   * Whether a change this process has heard of after `interest.since` would have woken the waiter.
   * Only those: a long-poll must not spin on every commit in rooms it does not watch. Changes after
   * `since` not heard yet wake it when they are; before the floor nothing is known, so it wakes.
   */
  #missed(interest: WaitInterest): boolean {
    if (interest.since < this.#floor) return true;
    if (this.#latest <= interest.since) return false;
    if ((this.#lastWoke.get('u' + interest.userId) ?? 0) > interest.since) return true;
    for (const room of interest.rooms) if ((this.#lastWoke.get('r' + room) ?? 0) > interest.since) return true;
    return false;
  }

  wait(interest: WaitInterest, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.#missed(interest) || timeoutMs <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter: Waiter = { interest, wake: () => finish() };
      const timer = setTimeout(() => finish(), timeoutMs);
      const onAbort = () => finish();
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#remove(waiter);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#add(waiter);
    });
  }

  #add(waiter: Waiter) {
    this.#count++;
    add(this.#byUser, waiter.interest.userId, waiter);
    for (const room of waiter.interest.rooms) add(this.#byRoom, room, waiter);
  }

  #remove(waiter: Waiter) {
    if (!remove(this.#byUser, waiter.interest.userId, waiter)) return;
    this.#count--;
    for (const room of waiter.interest.rooms) remove(this.#byRoom, room, waiter);
  }

  async close() {
    this.deliver('everyone');
  }
}

function add(index: Map<string, Set<Waiter>>, key: string, waiter: Waiter) {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(waiter);
}

function remove(index: Map<string, Set<Waiter>>, key: string, waiter: Waiter): boolean {
  const set = index.get(key);
  if (!set?.delete(waiter)) return false;
  if (set.size === 0) index.delete(key);
  return true;
}

const CHANNEL = 'caduceus_stream';
const GAP_CHECK_MS = 2_000;
/** How long a gap may stay open before we assume its writer died without notifying. */
const GAP_PATIENCE_MS = 5_000;
/** NOTIFY payloads are limited to 8000 bytes; a bigger change is sent as "wake everyone". */
const MAX_PAYLOAD = 7900;

/** Shares changes between server processes on one PostgreSQL database. */
export class PostgresNotifier extends LocalNotifier {
  readonly #url: string;
  readonly #publisher: pg.Pool;
  #listener: pg.Client | undefined;
  #closed = false;
  #onError: (err: Error) => void;
  #watchdog: NodeJS.Timeout | undefined;
  #stuckSince: { position: number; at: number } | undefined;

  constructor(url: string, onError: (err: Error) => void = () => {}) {
    super();
    this.#url = url;
    this.#onError = onError;
    this.#publisher = new pg.Pool({ connectionString: url, max: 2 });
    this.#publisher.on('error', (err) => this.#onError(err));
  }

  /** Starts listening; resolves once the LISTEN is in place. */
  override async start(current: number): Promise<void> {
    await this.#listen();
    super.start(current);
    this.#watchdog = setInterval(() => void this.#checkForGaps(), GAP_CHECK_MS);
    this.#watchdog.unref();
  }

  /**
   * A process that died between its commit and its NOTIFY leaves a gap that would hold /sync back
   * for good. When the gap-free mark has not moved past a known position for a while, start over
   * from the database's position (everything before it counts as "may have changed").
   */
  async #checkForGaps() {
    if (this.#closed) return;
    try {
      const { rows } = await this.#publisher.query<{ value: string }>("SELECT value FROM stream_counters WHERE name = 'main'");
      const current = Number(rows[0]?.value ?? 0);
      if (this.heardUpTo >= current) {
        this.#stuckSince = undefined;
        return;
      }
      this.#stuckSince ??= { position: current, at: Date.now() };
      if (this.heardUpTo < this.#stuckSince.position && Date.now() - this.#stuckSince.at >= GAP_PATIENCE_MS) {
        this.reset(current);
        this.#stuckSince = undefined;
        this.deliver('everyone');
      }
    } catch (err) {
      this.#onError(err as Error);
    }
  }

  async #listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url });
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      try {
        const parsed = JSON.parse(message.payload) as { f: number; p: number; r?: string[]; u?: string[]; m?: StreamChange['marks']; all?: true };
        if (parsed.all) {
          // Too big to describe: every room and user may have changed up to here.
          this.reset(parsed.p);
          this.deliver('everyone');
        } else {
          this.deliver({ first: parsed.f, position: parsed.p, rooms: parsed.r ?? [], users: parsed.u ?? [], marks: parsed.m });
        }
      } catch (err) {
        this.#onError(err as Error);
      }
    });
    client.on('error', (err) => {
      this.#onError(err);
      void this.#reconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.#listener = client;
  }

  async #reconnect() {
    if (this.#closed) return;
    this.#listener?.end().catch(() => {});
    this.#listener = undefined;
    for (let delay = 100; !this.#closed; delay = Math.min(delay * 2, 5000)) {
      await new Promise((r) => setTimeout(r, delay));
      try {
        await this.#listen();
        // Changes may have been missed while disconnected: forget what we knew and let every waiter look again.
        const { rows } = await this.#publisher.query<{ value: string }>("SELECT value FROM stream_counters WHERE name = 'main'");
        this.reset(Number(rows[0]?.value ?? 0));
        this.deliver('everyone');
        return;
      } catch (err) {
        this.#onError(err as Error);
      }
    }
  }

  override publish(change: StreamChange): void {
    this.deliver(change);
    let payload = JSON.stringify({ f: change.first, p: change.position, r: change.rooms, u: change.users, m: change.marks });
    if (Buffer.byteLength(payload) > MAX_PAYLOAD) payload = JSON.stringify({ f: change.first, p: change.position, all: true });
    this.#publisher.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]).catch((err: Error) => this.#onError(err));
  }

  override async close() {
    this.#closed = true;
    clearInterval(this.#watchdog);
    await super.close();
    await this.#listener?.end().catch(() => {});
    await this.#publisher.end().catch(() => {});
  }
}
