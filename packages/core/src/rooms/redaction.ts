/**
 * The redaction algorithm (spec: content/rooms/fragments/v9-redactions.md, used by room version 10, and
 * v11-redactions.md for room version 11). It decides what survives when an event is redacted, and it is
 * also the "strip non-essential keys" step of signing and of the reference hash (event id).
 */
import type { JsonObject, PersistedEvent, RoomVersion } from './types.ts';
import { roomVersionRules } from './versions.ts';

const TOP_LEVEL_V11 = [
  'event_id',
  'type',
  'room_id',
  'sender',
  'state_key',
  'content',
  'hashes',
  'signatures',
  'depth',
  'prev_events',
  'auth_events',
  'origin_server_ts',
] as const;

/** v9 algorithm (room version 10) additionally protects these three. */
const TOP_LEVEL_V9 = [...TOP_LEVEL_V11, 'prev_state', 'origin', 'membership'] as const;

const POWER_LEVELS_V9 = ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default'];

/** Content keys kept per event type; `'all'` keeps the whole content. */
const CONTENT_V9: Record<string, readonly string[]> = {
  'm.room.member': ['membership', 'join_authorised_via_users_server'],
  'm.room.create': ['creator'],
  'm.room.join_rules': ['join_rule', 'allow'],
  'm.room.power_levels': POWER_LEVELS_V9,
  'm.room.history_visibility': ['history_visibility'],
};

const CONTENT_V11: Record<string, readonly string[] | 'all'> = {
  'm.room.member': ['membership', 'join_authorised_via_users_server'],
  'm.room.create': 'all',
  'm.room.join_rules': ['join_rule', 'allow'],
  'm.room.power_levels': [...POWER_LEVELS_V9, 'invite'],
  'm.room.history_visibility': ['history_visibility'],
  'm.room.redaction': ['redacts'],
};

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A deep copy of a JSON value. (structuredClone does the same through its serializer, which costs
 * more than the copy itself here: every event sent is redacted once for its reference hash.)
 */
function copyJson<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copyJson) as T;
  const out: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    // A "__proto__" key parsed from JSON is an own property; assigning it would set the prototype.
    if (key === '__proto__') Object.defineProperty(out, key, { value: copyJson(item), enumerable: true, writable: true, configurable: true });
    else out[key] = copyJson(item);
  }
  return out as T;
}

function pick(source: JsonObject, keys: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const key of keys) if (Object.hasOwn(source, key) && source[key] !== undefined) out[key] = copyJson(source[key]);
  return out;
}

/** The content that survives redaction of an event of `type` in `version`. */
export function redactContent(type: string, content: unknown, version: RoomVersion): JsonObject {
  if (!isObject(content)) return {};
  if (roomVersionRules(version).redaction === 'v9') {
    const keys = Object.hasOwn(CONTENT_V9, type) ? CONTENT_V9[type] : undefined;
    return keys ? pick(content, keys) : {};
  }
  const keys = Object.hasOwn(CONTENT_V11, type) ? CONTENT_V11[type] : undefined;
  if (keys === 'all') return copyJson(content);
  if (!keys) return {};
  const out = pick(content, keys);
  // v11: "Additionally, it allows the `signed` key of the `third_party_invite` key." Only an object with
  // a `signed` key yields anything; other values of `third_party_invite` are dropped entirely.
  if (type === 'm.room.member' && isObject(content.third_party_invite) && Object.hasOwn(content.third_party_invite, 'signed')) {
    out.third_party_invite = { signed: copyJson(content.third_party_invite.signed) };
  }
  return out;
}

/**
 * Redacts an event per the room version's algorithm: keeps only the protected top-level keys (so
 * `unsigned` and, in PDUs, the top-level `redacts` go) and the protected content keys for its type.
 * Returns a new object; the input is not changed. A redacted `PersistedEvent` is still a
 * `PersistedEvent` (every required field is protected). Servers re-add `unsigned.redacted_because`
 * when serving the redacted event to clients.
 */
export function redactEvent(event: PersistedEvent, version: RoomVersion): PersistedEvent;
export function redactEvent(event: JsonObject, version: RoomVersion): JsonObject;
export function redactEvent(input: PersistedEvent | JsonObject, version: RoomVersion): PersistedEvent | JsonObject {
  const event = input as JsonObject;
  const keep = roomVersionRules(version).redaction === 'v9' ? TOP_LEVEL_V9 : TOP_LEVEL_V11;
  const out = pick(event, keep);
  if (Object.hasOwn(event, 'content')) {
    out.content = redactContent(typeof event.type === 'string' ? event.type : '', event.content, version);
  }
  return out;
}
