/**
 * GET /sync (spec: "Syncing"): everything that changed for a user since their last position, or
 * everything they can see on an initial sync; a long-poll waits on the notifier until something
 * for this user commits. The token is the global stream position: "s<number>".
 */
import { MatrixError } from '@caduceus/core';
import type { EventRow, MembershipRow, Storage } from '../../storage/index.ts';
import { GLOBAL_ROOM } from '../../storage/index.ts';
import type { AuditTrail } from '../../compliance/audit/index.ts';
import type { Clock } from '../clock.ts';
import type { ClientGone, Notifier } from '../notifier.ts';
import type { PushRuleService } from '../push-rules.ts';
import type { KeyService } from '../keys.ts';
import { deviceKeyOf } from '../session-policy.ts';
import { ANY_DEVICE_LIST_CHANGE, type ChangeKind } from '../notifier.ts';
import { changedDeviceLists, leftDeviceLists } from './device-lists.ts';
import type { Principal } from '../sessions.ts';
import { eventPasses, roomPasses, type SyncFilterLike } from './event-filter.ts';
import { invitedRoom, joinedRoom, leftRoom, token, type JoinedRoomExtras, type RoomSyncContext, type UnreadCache } from './room-sync.ts';
import { freshJoinedRooms } from './fresh-rooms.ts';
import { PositionReads } from './position-reads.ts';

export interface SyncRequest {
  since?: string | undefined;
  timeoutMs: number;
  fullState: boolean;
  filter: SyncFilterLike | undefined;
  clientGone?: ClientGone | undefined;
  /**
   * Throws when the caller's session has ended meanwhile. A long-poll re-checks on every wake, so a
   * wiped device's /sync ends at once with M_UNKNOWN_TOKEN (the wipe wakes the user's long-polls).
   */
  checkSession?: (() => Promise<void>) | undefined;
}

/** Bounds on the in-memory caches (they are only shortcuts: clearing them costs queries, not correctness). */
const MAX_CACHED_USERS = 50_000;

/** How long /sync waits for the notice of a commit made elsewhere before it reads the database instead. */
const HEAR_PATIENCE_MS = 50;

/** Longest long-poll we hold, whatever the client asks. */
export const MAX_SYNC_TIMEOUT_MS = 60_000;

export function parseSyncToken(value: string): number {
  const match = /^s(\d{1,15})$/.exec(value);
  if (!match) throw new MatrixError('M_INVALID_PARAM', 'Unknown sync token; start again without "since"');
  return Number(match[1]);
}

type AccountDataEvent = { type: string; content: Record<string, unknown> };

/** A user's memberships as read at `at`, and the view a sync takes of them (kept while it stays the same). */
interface CachedMemberships {
  at: number;
  rows: MembershipRow[];
  forgotten: Set<string>;
  /** The newest membership's position: a sync up to at least this sees every row. */
  newest: number;
  /** The view of a sync that sees every row and has no room filter, once taken (read-only: shared by every sync of the user). */
  unfiltered?: MembershipView | undefined;
}

/** The memberships one sync sees (up to its position, through its room filter). */
interface MembershipView {
  memberships: MembershipRow[];
  joined: MembershipRow[];
  joinedIds: string[];
  /** Every room of `memberships`: what a long-poll waits on. */
  roomIds: Set<string>;
}

const NO_ROWS: readonly never[] = [];
const NO_KEYS: ReadonlySet<string> = new Set();

export class SyncService {
  readonly #storage: Storage;
  readonly #notifier: Notifier;
  readonly #clock: Clock;
  readonly #pushRules: PushRuleService;
  readonly #membershipCache = new Map<string, CachedMemberships>();
  readonly #unread: UnreadCache = new Map();
  /** Per device: the position up to which its to-device messages are known to be deleted. */
  readonly #toDeviceAcked = new Map<string, number>();

  readonly #keys: KeyService;
  readonly #audit: AuditTrail;
  readonly #positionReads: PositionReads;

  constructor(storage: Storage, notifier: Notifier, clock: Clock, pushRules: PushRuleService, keys: KeyService, audit: AuditTrail) {
    this.#storage = storage;
    this.#notifier = notifier;
    this.#clock = clock;
    this.#pushRules = pushRules;
    this.#keys = keys;
    this.#audit = audit;
    this.#positionReads = new PositionReads(() => storage.stream.current());
  }

  async sync(principal: Principal, request: SyncRequest): Promise<Record<string, unknown>> {
    const since = request.since !== undefined ? parseSyncToken(request.since) : undefined;
    const deadline = Date.now() + Math.min(Math.max(request.timeoutMs, 0), MAX_SYNC_TIMEOUT_MS);
    let lookedFirst = false;
    let previous: number | undefined;
    for (;;) {
      // The committed position (so a client sees its own writes, whichever process took them);
      // once woken, what woke the long-poll is heard, and that is enough.
      const upTo = previous === undefined ? await this.#committedPosition() : this.#positionAfterWake(previous);
      previous = upTo;
      // Another thread's or process's commit not heard yet: its notice is on its way, and once it
      // arrives this answer comes from memory instead of the database.
      if (this.#notifier.heardUpTo < upTo) await this.#notifier.untilHeard(upTo, HEAR_PATIENCE_MS);
      const from = since !== undefined ? Math.min(since, upTo) : undefined;
      // A long-poll arriving when the notifier has heard everything and knows of no change for this
      // user since `from` waits before building anything (the build would be empty): a busy client
      // re-polls right after each answer, so this halves the work per delivery.
      if (!lookedFirst && from !== undefined && !request.fullState && this.#notifier.heardUpTo >= upTo && deadline > Date.now() && !request.clientGone?.gone) {
        lookedFirst = true;
        // Presenting `from` acknowledges the to-device messages up to it, waiting or not.
        const acknowledging = this.#acknowledgeToDevice(principal, from, true);
        if (acknowledging) await acknowledging;
        const view = viewOf(await this.#memberships(principal.userId, upTo, true), upTo, request.filter);
        await this.#notifier.wait({ userId: principal.userId, rooms: view.roomIds, since: from }, deadline - Date.now(), request.clientGone);
        await request.checkSession?.();
        continue;
      }
      lookedFirst = true;
      const { response, rooms, empty } = await this.#build(principal, from, upTo, request);
      const remaining = deadline - Date.now();
      if (!empty || from === undefined || request.fullState || remaining <= 0 || request.clientGone?.gone) return this.#recordReads(response);
      await this.#notifier.wait({ userId: principal.userId, rooms, since: upTo }, remaining, request.clientGone);
      await request.checkSession?.();
      if (Date.now() >= deadline || request.clientGone?.gone) {
        // Woken by the deadline: one last look, so a change that raced the timeout is not held back.
        return this.#recordReads((await this.#build(principal, from, this.#positionAfterWake(upTo), request)).response);
      }
    }
  }

  /**
   * From memory when the notifier knows it (this process makes every write and hears each commit
   * before the writer's callers resume, or its threads share the position), so a client's own writes
   * are in. Otherwise another process may have committed what this one has not heard yet: the database's position.
   */
  #committedPosition(): Promise<number> | number {
    return this.#notifier.committedUpTo ?? this.#positionReads.current();
  }

  /**
   * The position a woken long-poll answers up to: the committed one when known without a query;
   * otherwise (PostgreSQL) what the notifier has heard, which includes whatever woke it. A write
   * acknowledged by another process while the poll was held and not heard yet comes with the next
   * sync (a new request reads the database's position). Saves a query per delivery.
   */
  #positionAfterWake(previous: number): number {
    return this.#notifier.committedUpTo ?? Math.max(previous, this.#notifier.heardUpTo);
  }

  /** Puts on record which rooms' events the answer hands out (coalesced per device, room and minute), before it goes. */
  async #recordReads<R extends { rooms: { join: Record<string, unknown>; leave: Record<string, unknown> } }>(response: R): Promise<R> {
    type Section = { timeline?: { events?: unknown[] }; state?: { events?: unknown[] } };
    let read: Array<{ roomId: string }> | undefined;
    for (const rooms of [response.rooms.join, response.rooms.leave] as Array<Record<string, Section>>) {
      for (const roomId in rooms) {
        const room = rooms[roomId]!;
        if ((room.timeline?.events?.length ?? 0) > 0 || (room.state?.events?.length ?? 0) > 0) (read ??= []).push({ roomId });
      }
    }
    if (read) await this.#audit.recordReads('sync', read);
    return response;
  }

  /**
   * Deletes the device's to-device messages up to `since`. Skipped (no query) when this process
   * acknowledged up to some earlier position and the notifier knows no message for the user came after it.
   */
  #acknowledgeToDevice(principal: Principal, since: number, trustNotifier: boolean): Promise<void> | undefined {
    const key = deviceKeyOf(principal.userId, principal.deviceId);
    const acked = this.#toDeviceAcked.get(key);
    const nothingNew = trustNotifier && acked !== undefined && acked <= since && !this.#notifier.changedSince('toDevice', principal.userId, acked);
    if (nothingNew) {
      if (since > acked) this.#toDeviceAcked.set(key, since);
      return undefined;
    }
    return this.#storage.toDevice.acknowledge(principal.userId, principal.deviceId, since).then(() => {
      if (this.#toDeviceAcked.size >= MAX_CACHED_USERS) this.#toDeviceAcked.clear();
      const latest = this.#toDeviceAcked.get(key);
      if (latest === undefined || since > latest) this.#toDeviceAcked.set(key, since);
    });
  }

  /** A user's memberships, cached until the notifier says they changed. */
  async #memberships(userId: string, upTo: number, trustNotifier: boolean): Promise<CachedMemberships> {
    const cached = this.#membershipCache.get(userId);
    if (trustNotifier && cached && !this.#notifier.changedSince('memberships', userId, cached.at)) return cached;
    const rows = await this.#storage.events.roomsOf(userId);
    const fresh: CachedMemberships = { at: upTo, rows, forgotten: await this.#storage.rooms.forgottenBy(userId), newest: rows.reduce((newest, m) => Math.max(newest, m.streamOrdering), 0) };
    if (this.#membershipCache.size >= MAX_CACHED_USERS) this.#membershipCache.clear();
    this.#membershipCache.set(userId, fresh);
    return fresh;
  }

  /**
   * Events of the rooms in (since, upTo], oldest first: from the window of recently committed events
   * where it can vouch for the whole range (only when the notifier has heard everything up to `upTo`),
   * from the database for the other rooms.
   */
  async #eventsInRange(roomIds: string[], since: number, upTo: number, trustNotifier: boolean, now: number): Promise<EventRow[]> {
    if (!trustNotifier) return this.#storage.events.inRange(roomIds, since, upTo);
    const fromMemory: EventRow[] = [];
    const missing: string[] = [];
    for (const roomId of roomIds) {
      const events = this.#notifier.recent.range(roomId, since, upTo, now);
      if (events) fromMemory.push(...events);
      else missing.push(roomId);
    }
    if (missing.length === 0) return roomIds.length > 1 ? fromMemory.sort(byPosition) : fromMemory;
    const fromDb = await this.#storage.events.inRange(missing, since, upTo);
    return fromMemory.length === 0 ? fromDb : [...fromMemory, ...fromDb].sort(byPosition);
  }

  async #build(principal: Principal, since: number | undefined, upTo: number, request: SyncRequest) {
    const stores = this.#storage;
    const notifier = this.#notifier;
    const { userId } = principal;
    const filter = request.filter;
    const now = this.#clock.now();
    // The notifier's record of what changed is complete only up to what it has heard: beyond that
    // (another process's write not yet announced), look everywhere.
    const trustNotifier = notifier.heardUpTo >= upTo;
    const cached = await this.#memberships(userId, upTo, trustNotifier);
    const { memberships, joined, joinedIds, roomIds } = viewOf(cached, upTo, filter);
    const forgotten = cached.forgotten;
    const incremental = since !== undefined;
    // On an incremental sync, look only where the notifier says something changed after `since`.
    // (A woken long-poll takes this path thousands of times a second: nothing here allocates for
    // kinds of change that did not happen.)
    const changed = (kind: ChangeKind, ids: string[]) => (incremental && trustNotifier ? onlyChanged(notifier, kind, ids, since) : ids);

    const eventRooms = changed('events', joinedIds);
    const rangeEvents = incremental && eventRooms.length > 0 ? await this.#eventsInRange(eventRooms, since, upTo, trustNotifier, now) : [];
    const eventsByRoom = groupBy(rangeEvents, (e) => e.roomId);
    // Incremental: rooms whose typing set changed (so "stopped typing" is told too); initial: rooms where someone types.
    const typingCandidates = changed('typing', joinedIds);
    const typingChanged = incremental && typingCandidates.length > 0 ? await stores.ephemeral.typingRoomsChanged(typingCandidates, since, upTo) : incremental ? [] : joinedIds;
    const typingNow = groupBy(typingChanged.length > 0 ? await stores.ephemeral.typingIn(typingChanged, now) : NO_ROWS, (t) => t.roomId);
    const typingRooms: ReadonlySet<string> = incremental ? (typingChanged.length > 0 ? new Set(typingChanged) : NO_KEYS) : new Set(typingNow.keys());
    const receiptRooms = changed('receipts', joinedIds);
    const receipts = groupBy(
      receiptRooms.length === 0 ? NO_ROWS : incremental ? await stores.ephemeral.receiptsChanged(receiptRooms, since, upTo) : await stores.ephemeral.receiptsOf(joinedIds),
      (r) => r.roomId,
    );
    const accountDataChanged = !incremental || !trustNotifier || notifier.changedSince('accountData', userId, since);
    const accountData = accountDataChanged ? (await stores.accountData.changedSince(userId, since ?? 0)).filter((a) => a.streamId <= upTo) : NO_ROWS;
    const roomAccountData = groupBy(accountData.length > 0 ? accountData.filter((a) => a.roomId !== GLOBAL_ROOM) : NO_ROWS, (a) => a.roomId);

    const context = (m: MembershipRow, roomSince: number | undefined): RoomSyncContext => ({
      stores,
      userId,
      deviceId: principal.deviceId,
      roomId: m.roomId,
      since: roomSince,
      upTo,
      now,
      filter,
      fullState: request.fullState,
      membershipStream: m.streamOrdering,
      unread: this.#unread,
      recent: trustNotifier ? notifier.recent : undefined,
      receiptsChanged: !incremental || !trustNotifier || notifier.changedSince('receipts', m.roomId, since),
    });
    const roomDataOf = (roomId: string): AccountDataEvent[] => {
      const data = roomAccountData.get(roomId);
      return data ? data.filter((a) => eventPasses(filter?.room?.account_data, { type: a.type })).map((a) => ({ type: a.type, content: a.content })) : [];
    };

    const join: Record<string, unknown> = {};
    // Rooms are independent: on PostgreSQL their queries overlap on the pool's connections.
    // An incremental sync skips rooms in which nothing happened without touching them.
    const active = incremental
      ? joined.filter((m) => m.streamOrdering > since || eventsByRoom.has(m.roomId) || typingRooms.has(m.roomId) || receipts.has(m.roomId) || roomAccountData.has(m.roomId) || request.fullState)
      : joined;
    const extrasOf = (roomId: string): JoinedRoomExtras => ({
      rangeEvents: eventsByRoom.get(roomId) ?? [],
      typing: typingRooms.has(roomId) ? (typingNow.get(roomId) ?? []).map((t) => t.userId) : undefined,
      receipts: receipts.get(roomId) ?? [],
      accountData: roomDataOf(roomId),
    });
    // A room joined since the last sync is new to the client: it gets the room in full. Such rooms
    // (every room of an initial sync) are read together, a few queries for all of them.
    const isNew = (m: MembershipRow) => !incremental || m.streamOrdering > since;
    const newRooms = active.filter(isNew);
    if (newRooms.length > 0) {
      for (const [roomId, section] of await freshJoinedRooms(newRooms.map((m) => context(m, undefined)), extrasOf)) join[roomId] = section;
    }
    const knownRooms = newRooms.length === 0 ? active : active.filter((m) => !isNew(m));
    await forEachConcurrently(knownRooms, ROOM_CONCURRENCY, async (m) => {
      const section = await joinedRoom(context(m, since), extrasOf(m.roomId));
      if (section) join[m.roomId] = section;
    });

    const invite: Record<string, unknown> = {};
    const leave: Record<string, unknown> = {};
    for (const m of memberships) {
      const changed = !incremental || m.streamOrdering > since;
      if (!changed) continue;
      if (m.membership === 'invite') {
        const inviteEvent = await stores.events.get(m.eventId);
        if (inviteEvent) invite[m.roomId] = await invitedRoom(context(m, since), inviteEvent);
      } else if ((m.membership === 'leave' || m.membership === 'ban') && !forgotten.has(m.roomId)) {
        // Left rooms appear on an initial sync only when the filter asks for them.
        if (!incremental && filter?.room?.include_leave !== true) continue;
        leave[m.roomId] = await leftRoom(context(m, since), roomDataOf(m.roomId));
      }
    }

    const globalData: AccountDataEvent[] = accountData.length === 0 ? [] : accountData.filter((a) => a.roomId === GLOBAL_ROOM).map((a) => ({ type: a.type, content: a.content }));
    const rulesChangedAt = accountDataChanged ? await stores.pushRules.streamIdOf(userId) : 0;
    if (!incremental || (rulesChangedAt > since && rulesChangedAt <= upTo)) {
      globalData.push({ type: 'm.push_rules', content: { global: await this.#pushRules.ruleset(userId) } });
    }
    const filteredGlobal = globalData.length === 0 ? globalData : globalData.filter((a) => eventPasses(filter?.account_data, { type: a.type }));

    // To-device messages wait until a later sync acknowledges them (by presenting a newer `since`).
    // Acknowledging does not wait for new messages: a fresh sync must never see acknowledged ones again.
    const acknowledging = incremental ? this.#acknowledgeToDevice(principal, since, trustNotifier) : undefined;
    if (acknowledging) await acknowledging;
    let toDevice: Array<{ sender: string; type: string; content: Record<string, unknown> }> = [];
    if (!incremental || !trustNotifier || notifier.changedSince('toDevice', userId, since)) {
      toDevice = (await stores.toDevice.pending(userId, principal.deviceId, since ?? 0, upTo)).map((m) => ({ sender: m.sender, type: m.type, content: m.content }));
    }

    const deviceListsChanged = incremental
      ? await changedDeviceLists(stores, userId, joined, since, upTo, rangeEvents, !trustNotifier || notifier.changedSince('deviceLists', ANY_DEVICE_LIST_CHANGE, since))
      : [];
    // Every room the user is in counts for "still shares a room", whatever the filter shows.
    const deviceListsLeft = incremental ? await leftDeviceLists(stores, userId, cached.rows, upTo, since, rangeEvents) : [];
    const deviceListsChangedNotLeft = deviceListsLeft.length === 0 ? deviceListsChanged : deviceListsChanged.filter((u) => !deviceListsLeft.includes(u));

    const keyCounts = this.#keys.syncKeyCounts(userId, principal.deviceId);
    const response = {
      next_batch: token(upTo),
      account_data: { events: filteredGlobal },
      presence: { events: [] },
      to_device: { events: toDevice },
      device_lists: { changed: deviceListsChangedNotLeft, left: deviceListsLeft },
      ...(keyCounts instanceof Promise ? await keyCounts : keyCounts),
      rooms: { join, invite, leave, knock: {} },
    };
    const empty = !hasKeys(join) && !hasKeys(invite) && !hasKeys(leave) && filteredGlobal.length + deviceListsChanged.length + deviceListsLeft.length + toDevice.length === 0;
    return { response, rooms: roomIds, empty };
  }
}

/** How many rooms one sync builds at once (bounded so one big initial sync cannot take the whole pool). */
const ROOM_CONCURRENCY = 8;

async function forEachConcurrently<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  // One item (the room a woken long-poll was woken for, usually): no workers to set up.
  if (items.length <= 1) return items.length === 1 ? work(items[0]!) : undefined;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

const byPosition = (a: EventRow, b: EventRow) => a.streamOrdering - b.streamOrdering;

function hasKeys(object: Record<string, unknown>): boolean {
  for (const _ in object) return true;
  return false;
}

/** The keys among `ids` with a change of `kind` after `since` (the same array when all of them have one). */
function onlyChanged(notifier: Notifier, kind: ChangeKind, ids: string[], since: number): string[] {
  let picked: string[] | undefined;
  for (let i = 0; i < ids.length; i++) {
    const changed = notifier.changedSince(kind, ids[i]!, since);
    if (picked) {
      if (changed) picked.push(ids[i]!);
    } else if (!changed) picked = ids.slice(0, i);
  }
  return picked ?? ids;
}

const NO_GROUPS: ReadonlyMap<string, never[]> = new Map();

function groupBy<T>(items: readonly T[], key: (item: T) => string): ReadonlyMap<string, T[]> {
  if (items.length === 0) return NO_GROUPS;
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}

/** The memberships a sync up to `upTo` sees through its filter; the common view (all rows, no room filter) is taken once per membership change. */
function viewOf(cached: CachedMemberships, upTo: number, filter: SyncFilterLike | undefined): MembershipView {
  const roomFilter = filter?.room;
  const common = cached.newest <= upTo && roomFilter?.rooms === undefined && roomFilter?.not_rooms === undefined;
  if (common && cached.unfiltered) return cached.unfiltered;
  const memberships = cached.rows.filter((m) => m.streamOrdering <= upTo && roomPasses(roomFilter, m.roomId));
  const joined = memberships.filter((m) => m.membership === 'join');
  const view = { memberships, joined, joinedIds: joined.map((m) => m.roomId), roomIds: new Set(memberships.map((m) => m.roomId)) };
  if (common) cached.unfiltered = view;
  return view;
}
