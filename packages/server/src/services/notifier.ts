/**
 * Wakes /sync long-polls when something for them is committed — no polling of the database per
 * waiter. A waiter says which user it serves and which rooms it watches; a change names the rooms
 * and users it concerns. In-process by default; on PostgreSQL, changes also travel through
 * LISTEN/NOTIFY (postgres-notifier.ts) so that a long-poll held by one server process wakes for a
 * write made by another.
 */
import { RecentEvents, type CommittedEvents } from './sync/recent-events.ts';

/**
 * Kinds of change besides room events, so /sync can skip looking where nothing changed; `sessions`
 * (a user's sessions ended or restarted) and `oneTimeKeys` (a user's one-time or fallback keys were
 * uploaded or claimed) name users whose cached facts every process drops (see `onMarked`).
 */
export type ChangeKind = 'events' | 'typing' | 'receipts' | 'accountData' | 'memberships' | 'deviceLists' | 'toDevice' | 'sessions' | 'oneTimeKeys';

/** Told the keys a heard change marked with one kind, or 'all' when changes may have been missed. */
export type MarkListener = (keys: readonly string[] | 'all') => void;

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

/**
 * That a long-poll's client went away (its connection closed), so the wait ends at once. One per
 * /sync request: lighter than an AbortController, and it holds one listener, the wait under way.
 */
export class ClientGone {
  #gone = false;
  #listener: (() => void) | undefined;

  get gone(): boolean {
    return this.#gone;
  }

  /** Calls `listener` when the client goes away (replacing any earlier one; undefined: none). */
  onGone(listener: (() => void) | undefined): void {
    this.#listener = listener;
  }

  goneNow(): void {
    this.#gone = true;
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.();
  }
}

export interface WaitInterest {
  userId: string;
  rooms: ReadonlySet<string>;
  /** The position the waiter has already seen; any newer change wakes it at once. */
  since: number;
}

export interface Notifier {
  /**
   * Called after a commit is durable: wakes local waiters (and, across processes, the others').
   * `events` are the events it committed, for other threads' recent-events windows.
   */
  publish(change: StreamChange, events?: CommittedEvents): void;
  /** Resolves when a change concerns the interest, the timeout passes, or the client goes away. */
  wait(interest: WaitInterest, timeoutMs: number, clientGone?: ClientGone): Promise<void>;
  /** How many long-polls are waiting in this process. */
  readonly waiting: number;
  /**
   * The highest position up to which this process has heard of every change, with no gap. What
   * /sync may serve; and up to it, `changedSince` answers exactly.
   */
  readonly heardUpTo: number;
  /** Positions below this were committed before the notifier started (or while it was cut off): nothing is known about them. */
  readonly floor: number;
  /**
   * Resolves once every change up to `position` has been heard, or after `patienceMs` (then the
   * caller reads from the database what the notifier cannot vouch for).
   */
  untilHeard(position: number, patienceMs: number): Promise<void>;
  /**
   * Whether a change of `kind` marked `key` after `since`: a room for events, typing and receipts; a
   * user for the other kinds (`ANY_DEVICE_LIST_CHANGE` with deviceLists: anyone's device list).
   */
  changedSince(kind: ChangeKind, key: string, since: number): boolean;
  /** Recently committed events, kept in step with what this notifier heard (see sync/recent-events). */
  readonly recent: RecentEvents;
  /**
   * Calls `listener` with the keys of every heard change (this process's, at its publish, before
   * any waiter wakes; another's, when its notice arrives) that marks `kind`, and with 'all' whenever
   * what was heard is forgotten (start, a missed stretch): how in-memory caches stay in step.
   */
  onMarked(kind: ChangeKind, listener: MarkListener): void;
  /** Whether every process's changes reach this notifier now; caches kept by `onMarked` serve only while true. */
  readonly live: boolean;
  /**
   * Whether this process makes every write (no other process shares the database): `heardUpTo` is
   * then the committed position, and caches need no notice sent to other processes.
   */
  readonly soleWriter: boolean;
  /**
   * The committed stream position when known without asking the database: what this process heard
   * when it makes every write, or what the threads of one process share. Undefined: ask the database.
   */
  readonly committedUpTo: number | undefined;
  /** Resolves once every other process has been sent (and this one has heard back) what was published so far; at once in-process. */
  settled(): Promise<void>;
  /** Starts tracking from the database's current position. */
  start(current: number): void | Promise<void>;
  close(): Promise<void>;
}

/** Someone waiting until a position is reached (heard, confirmed, echoed), or their patience runs out. */
export interface PositionWaiter {
  position: number;
  /** Resolves the wait (and leaves the set); called when the position is reached, or by the timer. */
  done: () => void;
}

/** Adds a waiter for `position` to `waiters`; it resolves when its `done` is called or after `patienceMs`. */
function waitInSet(waiters: Set<PositionWaiter>, position: number, patienceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const waiter: PositionWaiter = {
      position,
      done: () => {
        clearTimeout(timer);
        waiters.delete(waiter);
        resolve();
      },
    };
    const timer = setTimeout(waiter.done, patienceMs);
    waiters.add(waiter);
  });
}

/**
 * Positions this process sent to the others and who has not confirmed them yet (PostgreSQL: our own
 * NOTIFY coming back, and the other processes' answers to an ended session; threads: every other
 * thread's answer), and who waits for them. A lost confirmation must not hold anyone up for good:
 * waits end after `patienceMs`.
 */
export class Confirmations<Peer = string> {
  /** Position → those whose confirmation is still to come. */
  readonly #pending = new Map<number, Set<Peer>>();
  readonly #waiters = new Set<PositionWaiter>();
  readonly #patienceMs: number;

  constructor(patienceMs: number) {
    this.#patienceMs = patienceMs;
  }

  get size() {
    return this.#pending.size;
  }

  /** `position` was sent; each of `from` is to confirm it. */
  expect(position: number, from: Iterable<Peer>) {
    // Bounded: confirmations that stopped coming (a lost connection, a peer shutting down).
    if (this.#pending.size >= MAX_UNCONFIRMED) this.forget();
    const waitingFor = new Set(from);
    if (waitingFor.size > 0) this.#pending.set(position, waitingFor);
  }

  /** `by` confirms `position` (once: a repeat counts for nothing). */
  confirm(position: number, by: Peer) {
    const waitingFor = this.#pending.get(position);
    if (!waitingFor?.delete(by) || waitingFor.size > 0) return;
    this.#pending.delete(position);
    this.#releaseWaiters();
  }

  /** `by` will confirm nothing more (it shut down): nothing waits for it. */
  confirmAll(by: Peer) {
    for (const position of [...this.#pending.keys()]) this.confirm(position, by);
  }

  /** A waiter is done once nothing at or below its position is still unconfirmed. */
  #releaseWaiters() {
    let lowest = Number.POSITIVE_INFINITY;
    for (const pending of this.#pending.keys()) if (pending < lowest) lowest = pending;
    for (const waiter of this.#waiters) if (waiter.position < lowest) waiter.done();
  }

  /**
   * Resolves once everything expected so far is confirmed, or patience ran out: then what was waited
   * for counts as confirmed, so that a confirmation that will never come (a peer that died) holds up
   * one wait, not every later one. Answers who did not confirm in time.
   */
  async settled(): Promise<Set<Peer>> {
    const silent = new Set<Peer>();
    if (this.#pending.size === 0) return silent;
    const upTo = Math.max(...this.#pending.keys());
    await waitInSet(this.#waiters, upTo, this.#patienceMs);
    for (const [position, waitingFor] of this.#pending) {
      if (position > upTo) continue;
      for (const peer of waitingFor) silent.add(peer);
      this.#pending.delete(position);
    }
    if (silent.size > 0) this.#releaseWaiters();
    return silent;
  }

  /** Confirmations that will never come: nobody waits for them. */
  forget() {
    this.#pending.clear();
    for (const waiter of this.#waiters) waiter.done();
  }
}

const MAX_UNCONFIRMED = 10_000;

interface Waiter {
  interest: WaitInterest;
  wake: () => void;
}

export const ANY_DEVICE_LIST_CHANGE = '*';

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
  /** Per kind, the last position at which each key changed (keyed by the ids themselves: no strings built per look-up). */
  readonly #lastChanged = new Map<ChangeKind, Map<string, number>>();
  /** Last position of a change that woke the waiters of each room ("r" + id) or user ("u" + id). */
  readonly #lastWoke = new Map<string, number>();
  readonly #markListeners = new Map<ChangeKind, MarkListener[]>();
  /** Callers of `untilHeard` waiting for the gap-free mark to reach their position. */
  readonly #hearWaiters = new Set<PositionWaiter>();

  get waiting() {
    return this.#count;
  }

  get heardUpTo() {
    return this.#heardUpTo;
  }

  get floor() {
    return this.#floor;
  }

  get live() {
    return true;
  }

  get soleWriter() {
    return true;
  }

  get committedUpTo(): number | undefined {
    return this.#heardUpTo;
  }

  settled(): Promise<void> {
    return Promise.resolve();
  }

  onMarked(kind: ChangeKind, listener: MarkListener): void {
    let listeners = this.#markListeners.get(kind);
    if (!listeners) this.#markListeners.set(kind, (listeners = []));
    listeners.push(listener);
  }

  #tell(kind: ChangeKind, keys: readonly string[] | 'all') {
    for (const listener of this.#markListeners.get(kind) ?? []) listener(keys);
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
    for (const waiter of this.#hearWaiters) if (waiter.position <= this.#heardUpTo) waiter.done();
    for (const kind of this.#markListeners.keys()) this.#tell(kind, 'all');
  }

  untilHeard(position: number, patienceMs: number): Promise<void> {
    if (this.#heardUpTo >= position) return Promise.resolve();
    return waitInSet(this.#hearWaiters, position, patienceMs);
  }

  changedSince(kind: ChangeKind, key: string, since: number): boolean {
    if (since < this.#floor) return true;
    return (this.#lastChanged.get(kind)?.get(key) ?? 0) > since;
  }

  publish(change: StreamChange, _events?: CommittedEvents): void {
    this.deliver(change);
  }

  #record(change: StreamChange) {
    // Before the gap-free mark moves: whoever trusts it must find the window already in step.
    this.recent.observe(change);
    for (const [kind, keys] of Object.entries(change.marks ?? {}) as Array<[ChangeKind, readonly string[]]>) {
      let changed = this.#lastChanged.get(kind);
      if (!changed) this.#lastChanged.set(kind, (changed = new Map()));
      const note = (key: string) => {
        if ((changed.get(key) ?? 0) < change.position) changed.set(key, change.position);
      };
      for (const key of keys) note(key);
      if (kind === 'deviceLists' && keys.length > 0) note(ANY_DEVICE_LIST_CHANGE);
      if (keys.length > 0) this.#tell(kind, keys);
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
    for (const waiter of this.#hearWaiters) if (waiter.position <= this.#heardUpTo) waiter.done();
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

  wait(interest: WaitInterest, timeoutMs: number, clientGone?: ClientGone): Promise<void> {
    if (this.#missed(interest) || timeoutMs <= 0 || clientGone?.gone) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        clientGone?.onGone(undefined);
        this.#remove(waiter);
        resolve();
      };
      const waiter: Waiter = { interest, wake: finish };
      const timer = setTimeout(finish, timeoutMs);
      clientGone?.onGone(finish);
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
