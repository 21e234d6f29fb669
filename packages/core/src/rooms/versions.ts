/**
 * The room versions Caduceus supports and the differences between them that our code acts on
 * (spec: content/rooms/v10.md, content/rooms/v11.md). Both are "stable" and share the v4+ event id
 * (reference hash), v6 canonical JSON, knocking, restricted and knock_restricted join rules, and
 * integer-only power levels (v10 added integer validation to the auth rules).
 */
import type { JsonObject, RoomVersion, StateEvent } from './types.ts';

export const SUPPORTED_ROOM_VERSIONS: readonly RoomVersion[] = ['10', '11'];

/** The version new rooms get when the client does not ask for one. */
export const DEFAULT_ROOM_VERSION: RoomVersion = '10';

export interface RoomVersionRules {
  version: RoomVersion;
  /**
   * v11: `m.room.redaction` carries `redacts` in `content` (v10: top level), and the redaction
   * algorithm keeps it there.
   */
  redactsInContent: boolean;
  /** v10: `m.room.create` content must have `creator`; v11 removes it and the sender is the creator. */
  createHasCreator: boolean;
  /**
   * Which redaction algorithm applies. 'v9' (used by v10) keeps the top-level `origin`, `membership`
   * and `prev_state`; 'v11' drops them, keeps all `m.room.create` content, `invite` in power levels,
   * `redacts` in redaction content and `third_party_invite.signed` in member content.
   */
  redaction: 'v9' | 'v11';
  /** Power level values must be integers, checked by auth rule 9 (true in both; v10 introduced it). */
  integerPowerLevels: true;
}

const RULES: Record<RoomVersion, RoomVersionRules> = {
  '10': { version: '10', redactsInContent: false, createHasCreator: true, redaction: 'v9', integerPowerLevels: true },
  '11': { version: '11', redactsInContent: true, createHasCreator: false, redaction: 'v11', integerPowerLevels: true },
};

export function isSupportedRoomVersion(version: unknown): version is RoomVersion {
  return typeof version === 'string' && (SUPPORTED_ROOM_VERSIONS as readonly string[]).includes(version);
}

export function roomVersionRules(version: RoomVersion): RoomVersionRules {
  return RULES[version];
}

/** The `m.room_versions` capability (client-server API, "Capabilities"). */
export function roomVersionsCapability(): { default: RoomVersion; available: Record<string, 'stable' | 'unstable'> } {
  return { default: DEFAULT_ROOM_VERSION, available: Object.fromEntries(SUPPORTED_ROOM_VERSIONS.map((v) => [v, 'stable'])) };
}

/**
 * The room's creator: `content.creator` in v10 (required there by auth rule 1.4), the `sender` of the
 * create event in v11 ("clients can rely on `sender` instead to determine a room creator").
 */
export function roomCreator(createEvent: Pick<StateEvent, 'sender' | 'content'>, version: RoomVersion): string {
  if (RULES[version].createHasCreator && typeof createEvent.content.creator === 'string') return createEvent.content.creator;
  return createEvent.sender;
}

/**
 * The content of a new `m.room.create` event for `version`: v10 needs `creator`, v11 must not rely on it
 * (we leave it out). `extra` is the client's `creation_content`; it cannot override the version or creator.
 */
export function createEventContent(creator: string, version: RoomVersion, extra: JsonObject = {}): JsonObject {
  const { creator: _ignored, room_version: _ignoredVersion, ...rest } = extra;
  return RULES[version].createHasCreator ? { ...rest, creator, room_version: version } : { ...rest, room_version: version };
}

/** The id of the event a redaction event redacts, wherever this room version puts it (falls back to the other place). */
export function redactedEventId(event: { content: JsonObject; redacts?: string }, version: RoomVersion): string | undefined {
  const inContent = typeof event.content.redacts === 'string' ? event.content.redacts : undefined;
  return RULES[version].redactsInContent ? (inContent ?? event.redacts) : (event.redacts ?? inContent);
}

/**
 * Where to put `redacts` when building a redaction event in `version`: v11 puts it in `content`; we also
 * keep the top-level copy in both versions (clients of either era read one or the other).
 */
export function placeRedacts(content: JsonObject, redacts: string, version: RoomVersion): { content: JsonObject; redacts: string } {
  return { content: RULES[version].redactsInContent ? { ...content, redacts } : content, redacts };
}
