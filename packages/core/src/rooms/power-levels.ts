/**
 * Power levels (spec: `m.room.power_levels` event schema, and "Definitions" in the server-server API's
 * "Checks performed on receipt of a PDU"). Room versions 10 and 11 accept integers only, so any value
 * that is not a safe integer is treated as absent (the auth rules refuse such power levels events anyway).
 */
import type { JsonObject, RoomVersion, StateEvent } from './types.ts';
import { roomCreator } from './versions.ts';

export interface PowerLevelsContent {
  ban?: number;
  events?: Record<string, number>;
  events_default?: number;
  invite?: number;
  kick?: number;
  redact?: number;
  state_default?: number;
  users?: Record<string, number>;
  users_default?: number;
  notifications?: Record<string, number>;
}

/** Levels that apply when a property (or the whole event) is missing. */
export const POWER_LEVEL_DEFAULTS = {
  users_default: 0,
  events_default: 0,
  /** 50 whether the event lacks the property or the room has no power levels event (schema text). */
  state_default: 50,
  ban: 50,
  kick: 50,
  redact: 50,
  invite: 0,
} as const;

/** Level the creator has while the room has no power levels event (room versions 1–11). */
export const CREATOR_LEVEL_WITHOUT_POWER_LEVELS = 100;

/** Level required for `@room` notifications when `notifications.room` is missing. */
export const ROOM_NOTIFICATION_DEFAULT = 50;

export type PowerLevelAction = 'ban' | 'kick' | 'redact' | 'invite';

/** A power level value as room versions 10+ accept it: a safe integer, else undefined. */
export function asPowerLevel(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
}

function objectOf(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

/**
 * The power level of `userId`: from `users`, else `users_default`, else 0; when the room has no power
 * levels event, the creator has 100 and everyone else 0.
 */
export function userPowerLevel(
  userId: string,
  powerLevels: Pick<StateEvent, 'content'> | undefined,
  createEvent: Pick<StateEvent, 'sender' | 'content'> | undefined,
  version: RoomVersion,
): number {
  if (!powerLevels) {
    return createEvent && roomCreator(createEvent, version) === userId ? CREATOR_LEVEL_WITHOUT_POWER_LEVELS : 0;
  }
  const users = objectOf(powerLevels.content.users);
  const own = users && Object.hasOwn(users, userId) ? asPowerLevel(users[userId]) : undefined;
  return own ?? asPowerLevel(powerLevels.content.users_default) ?? POWER_LEVEL_DEFAULTS.users_default;
}

/**
 * The level required to send an event of `type`: `events[type]`, else `state_default` for state events
 * (those with a `state_key`, even `""`) or `events_default` for the others.
 */
export function requiredEventLevel(type: string, isState: boolean, powerLevels: Pick<StateEvent, 'content'> | undefined): number {
  const content = powerLevels?.content ?? {};
  const events = objectOf(content.events);
  const explicit = events && Object.hasOwn(events, type) ? asPowerLevel(events[type]) : undefined;
  if (explicit !== undefined) return explicit;
  return isState
    ? (asPowerLevel(content.state_default) ?? POWER_LEVEL_DEFAULTS.state_default)
    : (asPowerLevel(content.events_default) ?? POWER_LEVEL_DEFAULTS.events_default);
}

/** The invite, kick, ban or redact level (invite defaults to 0, the others to 50). */
export function actionPowerLevel(action: PowerLevelAction, powerLevels: Pick<StateEvent, 'content'> | undefined): number {
  return asPowerLevel(powerLevels?.content[action]) ?? POWER_LEVEL_DEFAULTS[action];
}

/**
 * The level required to trigger a notification of `key` (e.g. `room` for `@room`). The spec gives the
 * default only for `room` (50); other keys get the same default, the cautious choice.
 */
export function notificationPowerLevel(key: string, powerLevels: Pick<StateEvent, 'content'> | undefined): number {
  const notifications = objectOf(powerLevels?.content.notifications);
  const explicit = notifications && Object.hasOwn(notifications, key) ? asPowerLevel(notifications[key]) : undefined;
  return explicit ?? ROOM_NOTIFICATION_DEFAULT;
}

export type RoomPreset = 'private_chat' | 'trusted_private_chat' | 'public_chat';

/**
 * The `m.room.power_levels` content `createRoom` sends before `power_level_content_override` is applied.
 * The spec fixes only that the creator (and, for `trusted_private_chat`, the invitees) get the creator's
 * level; the per-event levels and the preset-dependent `invite` (0 in private presets, 50 in
 * `public_chat`) follow what the reference homeserver does so clients see familiar rooms.
 */
export function defaultPowerLevelsContent(creator: string, preset: RoomPreset, invitees: readonly string[] = []): PowerLevelsContent {
  const users: Record<string, number> = { [creator]: 100 };
  if (preset === 'trusted_private_chat') for (const invitee of invitees) users[invitee] = 100;
  return {
    users,
    users_default: 0,
    events: {
      'm.room.name': 50,
      'm.room.power_levels': 100,
      'm.room.history_visibility': 100,
      'm.room.canonical_alias': 50,
      'm.room.avatar': 50,
      'm.room.tombstone': 100,
      'm.room.server_acl': 100,
      'm.room.encryption': 100,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: preset === 'public_chat' ? 50 : 0,
  };
}
