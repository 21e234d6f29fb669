/**
 * Appending an event to a room: the one place where an event is authorised against the room's
 * current state, built (prev_events, auth_events, depth), hashed, signed and stored. Runs inside a
 * stream-writer job, so it holds the stream lock: events of a room are appended one at a time, in
 * order, across every server process.
 */
import { CanonicalJsonError, MatrixError, authEventTypesFor, authorizeEvent, redactEvent, redactedEventId, type PersistedEvent, type RoomVersion, type StateEvent } from '@caduceus/core';
import type { Config } from '../../config/config.ts';
import { buildEvent } from '../../crypto/event-hashing.ts';
import type { SigningKey } from '../../crypto/signing-key.ts';
import type { EventRow } from '../../storage/index.ts';
import type { Clock } from '../clock.ts';
import { RETENTION_EVENT_TYPE, checkRoomRetention, effectiveMaxLifetime, expiryOf, roomRetentionOf } from '../../compliance/retention/policy.ts';
import type { WriteContext } from '../stream-writer.ts';

export interface AppendRequest {
  roomId: string;
  type: string;
  stateKey?: string | undefined;
  sender: string;
  content: Record<string, unknown>;
  redacts?: string | undefined;
  /** The sending device's transaction, for idempotent retries and unsigned.transaction_id. */
  txn?: { deviceId: string; txnId: string } | undefined;
  /** Refused in a room an administrator blocked (checked in the append's own first read: a send's hot path). */
  refuseIfBlocked?: boolean;
}

/** The refusal of a room an administrator blocked: nobody new comes in and nothing new is said. */
export const roomBlockedError = () => new MatrixError('M_FORBIDDEN', 'This room has been blocked by an administrator');

export interface AppendedEvent {
  event: PersistedEvent;
  streamOrdering: number;
  /** True when the transaction id had been used already and the earlier event is returned. */
  duplicate: boolean;
}

export const parseEvent = (row: Pick<EventRow, 'json'>) => JSON.parse(row.json) as PersistedEvent;

/**
 * What the appender last knew of a room: its newest event and the state events it has looked up.
 * Valid only while that newest event is still the room's newest in the database (checked inside
 * the write transaction), so a rolled-back write or another process's write simply means a reload.
 */
interface RoomCache {
  latestEventId: string;
  latestStream: number;
  state: Map<string, PersistedEvent | null>;
}

/** Rooms whose state the appender keeps; the least recently written ones are dropped first. */
const MAX_CACHED_ROOMS = 10_000;

export class EventAppender {
  readonly #config: Config;
  readonly #clock: Clock;
  readonly #key: SigningKey;
  readonly #rooms = new Map<string, RoomCache>();

  constructor(config: Config, clock: Clock, key: SigningKey) {
    this.#config = config;
    this.#clock = clock;
    this.#key = key;
  }

  async append(ctx: WriteContext, request: AppendRequest, roomVersion: RoomVersion): Promise<AppendedEvent> {
    const { stores } = ctx;
    // One read for the room's tip, its block and a retried transaction: each round trip here is
    // made inside the serialised write, while every other write waits.
    const txn = request.txn && { userId: request.sender, deviceId: request.txn.deviceId, txnId: request.txn.txnId };
    const basis = await stores.events.appendBasis(request.roomId, txn);
    if (basis.earlierEventId !== undefined) {
      const row = await stores.events.get(basis.earlierEventId);
      if (row) return { event: parseEvent(row), streamOrdering: row.streamOrdering, duplicate: true };
    }
    if (request.refuseIfBlocked && basis.blocked) throw roomBlockedError();

    const draftHead = {
      room_id: request.roomId,
      type: request.type,
      sender: request.sender,
      content: request.content,
      ...(request.stateKey !== undefined ? { state_key: request.stateKey } : {}),
    };
    const latest = basis.tip;
    let cache = this.#rooms.get(request.roomId);
    if (!cache || !latest || cache.latestEventId !== latest.eventId || cache.latestStream !== latest.streamOrdering) {
      cache = { latestEventId: latest?.eventId ?? '', latestStream: latest?.streamOrdering ?? 0, state: new Map() };
    }
    // The auth rules read only a few pieces of state: load exactly those (once per room, while valid).
    const pairs = [...authEventTypesFor(draftHead), { type: 'm.room.create', stateKey: '' }];
    if (request.type === 'm.room.power_levels') pairs.push({ type: 'm.room.power_levels', stateKey: '' });
    if (request.stateKey !== undefined) pairs.push({ type: request.type, stateKey: request.stateKey });
    // Messages take their expiry from the room's retention policy.
    else pairs.push({ type: RETENTION_EVENT_TYPE, stateKey: '' });
    for (const { type, stateKey } of pairs) {
      const key = `${type}\u0000${stateKey}`;
      if (cache.state.has(key)) continue;
      const row = await stores.events.currentStateEvent(request.roomId, type, stateKey);
      cache.state.set(key, row ? parseEvent(row) : null);
    }
    const state = cache.state;
    const lookup = (type: string, stateKey: string): StateEvent | undefined => state.get(`${type}\u0000${stateKey}`) ?? undefined;

    // Outside the organisation's allowed range: refused (403), like any other rule of the room.
    if (request.type === RETENTION_EVENT_TYPE && request.stateKey === '') checkRoomRetention(request.content, this.#config.retention);
    const authorisable = { ...draftHead, prev_events: latest ? [latest.eventId] : [] };
    const verdict = authorizeEvent(authorisable, lookup, roomVersion);
    if (!verdict.ok) throw new MatrixError('M_FORBIDDEN', verdict.reason);

    const authEvents = authEventTypesFor(draftHead)
      .map(({ type, stateKey }) => lookup(type, stateKey)?.event_id)
      .filter((id): id is string => id !== undefined);
    const event = this.#build(
      {
        ...draftHead,
        origin_server_ts: this.#clock.now(),
        depth: latest ? latest.depth + 1 : 1,
        prev_events: latest ? [latest.eventId] : [],
        auth_events: authEvents,
        ...(request.redacts !== undefined ? { redacts: request.redacts } : {}),
      },
      roomVersion,
    );

    const roomRetention = roomRetentionOf(lookup(RETENTION_EVENT_TYPE, '')?.content);
    const expiresTs = expiryOf({ stateKey: request.stateKey, originServerTs: event.origin_server_ts, content: request.content }, roomRetention, this.#config.retention);

    const streamOrdering = await ctx.nextPosition();
    const unsigned: Record<string, unknown> = {};
    if (request.stateKey !== undefined) {
      const prev = lookup(request.type, request.stateKey) as PersistedEvent | undefined;
      if (prev) {
        unsigned.replaces_state = prev.event_id;
        unsigned.prev_content = prev.content;
        unsigned.prev_sender = prev.sender;
      }
    }
    const relation = request.content['m.relates_to'] as { rel_type?: unknown; event_id?: unknown } | undefined;
    await stores.events.insert(
      {
        streamOrdering,
        eventId: event.event_id,
        roomId: event.room_id,
        type: event.type,
        stateKey: event.state_key ?? null,
        sender: event.sender,
        originServerTs: event.origin_server_ts,
        depth: event.depth,
        json: JSON.stringify(event),
        unsigned: JSON.stringify(unsigned),
        relatesTo: typeof relation?.event_id === 'string' ? relation.event_id : null,
        relType: typeof relation?.rel_type === 'string' ? relation.rel_type : null,
        expiresTs,
      },
      txn && { ...txn, now: this.#clock.now() },
    );
    // A shorter policy applies to the messages already sent too (a longer one only to new ones).
    if (event.type === RETENTION_EVENT_TYPE && event.state_key === '') {
      const lifetime = effectiveMaxLifetime(roomRetentionOf(event.content), this.#config.retention);
      if (lifetime !== null) await stores.retention.shortenRoomExpiry(event.room_id, lifetime);
    }
    if (event.state_key !== undefined) {
      const membership = event.type === 'm.room.member' && typeof event.content.membership === 'string' ? event.content.membership : null;
      await stores.events.setCurrentState(event.room_id, event.type, event.state_key, event.event_id, streamOrdering, membership);
    }
    if (event.type === 'm.room.redaction') await this.#applyRedaction(ctx, event, roomVersion);

    this.#rooms.delete(request.roomId);
    // A redaction may have pruned a state event the auth rules read: start that room afresh.
    if (event.type !== 'm.room.redaction') {
      cache.latestEventId = event.event_id;
      cache.latestStream = streamOrdering;
      if (event.state_key !== undefined) cache.state.set(`${event.type}\u0000${event.state_key}`, event);
      if (this.#rooms.size >= MAX_CACHED_ROOMS) this.#rooms.delete(this.#rooms.keys().next().value!);
      this.#rooms.set(request.roomId, cache);
    }

    const memberChange = event.type === 'm.room.member' && event.state_key !== undefined ? [event.state_key] : [];
    ctx.touch([event.room_id], memberChange);
    ctx.mark('events', [event.room_id]);
    if (memberChange.length > 0) ctx.mark('memberships', memberChange);
    return { event, streamOrdering, duplicate: false };
  }

  /** Events are signed as canonical JSON: content that has no canonical form (floats, huge integers) is bad JSON. */
  #build(draft: Parameters<typeof buildEvent>[0], roomVersion: RoomVersion): PersistedEvent {
    try {
      return buildEvent(draft, roomVersion, this.#config.serverName, this.#key);
    } catch (err) {
      if (err instanceof CanonicalJsonError) throw new MatrixError('M_BAD_JSON', `Event content is not valid canonical JSON: ${err.message}`);
      throw err;
    }
  }

  /** Prunes the redacted event's stored content (the spec's redaction algorithm), keeping the fact. */
  async #applyRedaction(ctx: WriteContext, redaction: PersistedEvent, roomVersion: RoomVersion) {
    const targetId = redactedEventId(redaction, roomVersion);
    if (!targetId) return;
    const target = await ctx.stores.events.get(targetId);
    if (!target || target.roomId !== redaction.room_id || target.redactedBy) return;
    const pruned = redactEvent(parseEvent(target), roomVersion);
    const unsigned: Record<string, unknown> = { ...(JSON.parse(target.unsigned) as Record<string, unknown>), redacted_because: redaction };
    delete unsigned.prev_content;
    await ctx.stores.events.replaceRedacted(targetId, JSON.stringify(pruned), JSON.stringify(unsigned), redaction.event_id);
    // Its leftovers (edits, the successor's prev_content, media) are erased after the grace period;
    // under a legal hold the original is kept aside, out of clients' reach, until the hold ends.
    const held = await ctx.stores.retention.isHeld(target.roomId, target.sender);
    await ctx.stores.retention.queueErasure({ eventId: targetId, roomId: target.roomId, sender: target.sender, redactedTs: this.#clock.now(), originalJson: held ? target.json : null });
  }
}
