/**
 * Shapes of room events (PDUs) as Caduceus stores them, and of the room state the auth rules read.
 * Runtime-free: the web app imports these too.
 */

/** The room versions Caduceus can create and serve (see versions.ts for what differs). */
export type RoomVersion = '10' | '11';

/** Any JSON object (event content, unsigned data). */
export type JsonObject = Record<string, unknown>;

/**
 * A persisted room event: the PDU of room versions 10 and 11 as the spec defines it
 * (`pdu_v4` / `pdu_v11`), plus the `event_id` we derive from it (in these versions the event id is
 * the reference hash and is not itself part of the hashed or signed object).
 */
export interface PersistedEvent {
  /** `$` + URL-safe unpadded base64 of the reference hash (derived; not part of the PDU). */
  event_id: string;
  room_id: string;
  type: string;
  /** Present (possibly `""`) on state events, absent on message events. */
  state_key?: string;
  sender: string;
  origin_server_ts: number;
  content: JsonObject;
  depth: number;
  prev_events: string[];
  auth_events: string[];
  hashes: { sha256: string };
  /** server name → key id → unpadded base64 signature. */
  signatures: Record<string, Record<string, string>>;
  /** Not covered by hashes or signatures; stripped by redaction. */
  unsigned?: JsonObject;
  /**
   * For `m.room.redaction`: the redacted event's id. A PDU property in v10; in v11 the PDU carries it
   * in `content.redacts` and we keep this top-level copy as well for older clients (it is covered by the
   * content hash but not by the signature or event id, since redaction strips it).
   */
  redacts?: string;
}

/** The fields of a state event the auth rules read; a `PersistedEvent` satisfies it. */
export type StateEvent = Pick<PersistedEvent, 'event_id' | 'type' | 'sender' | 'content'> & { state_key?: string };

/**
 * Room state as a flat map keyed by `stateMapKey(type, stateKey)`, i.e. `${type}\u0000${stateKey}`.
 * NUL cannot occur in an event type sent over JSON by a sane client, and the flat key keeps lookups
 * and copies cheap (one Map, no nesting).
 */
export type StateMap<E extends StateEvent = PersistedEvent> = ReadonlyMap<string, E>;

/** A lookup of the current state, e.g. backed by storage: returns the event for (type, state key). */
export type StateLookup = (type: string, stateKey: string) => StateEvent | undefined;

/** A (type, state key) pair naming one piece of room state. */
export interface StateKeyPair {
  type: string;
  stateKey: string;
}

export function stateMapKey(type: string, stateKey: string): string {
  return `${type}\u0000${stateKey}`;
}

/** Builds a StateMap from state events (later events for the same key win). */
export function stateMapOf<E extends StateEvent>(events: Iterable<E>): Map<string, E> {
  const map = new Map<string, E>();
  for (const event of events) {
    if (event.state_key !== undefined) map.set(stateMapKey(event.type, event.state_key), event);
  }
  return map;
}

/** Turns either form of room state into a lookup function. */
export function toStateLookup(state: StateMap<StateEvent> | StateLookup): StateLookup {
  return typeof state === 'function' ? state : (type, stateKey) => state.get(stateMapKey(type, stateKey));
}

/** Membership values of `m.room.member` events. */
export type Membership = 'invite' | 'join' | 'knock' | 'leave' | 'ban';

/** Result of the authorization rules: allowed, or refused with a reason that carries no personal data. */
export type AuthResult = { ok: true } | { ok: false; reason: string };
