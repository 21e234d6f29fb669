/**
 * The authorization rules of room versions 10 and 11 (spec: content/rooms/v10.md and v11.md,
 * "Authorisation rules"), checked against the room state before the event.
 *
 * Left out, because they only matter for events received over federation (we are a single server and
 * build every event ourselves):
 * - signature checks (the preamble, and rule 4.2: `join_authorised_via_users_server` must be signed by
 *   that user's server — ours, always);
 * - rule 2 (the `auth_events` list must match the auth events selection and must not hold rejected or
 *   foreign events) — instead `authEventTypesFor` / `selectAuthEventIds` give the server the right list.
 * Third-party invites (`m.room.member` invites with `content.third_party_invite`) are refused as
 * unsupported: checking them needs identity-server keys. Everything else follows the spec's numbering,
 * cited in the comments.
 */
import { parseUserId } from '../ids.ts';
import { actionPowerLevel, asPowerLevel, requiredEventLevel, userPowerLevel } from './power-levels.ts';
import type { AuthResult, JsonObject, PersistedEvent, RoomVersion, StateEvent, StateKeyPair, StateLookup, StateMap } from './types.ts';
import { toStateLookup } from './types.ts';
import { isSupportedRoomVersion, roomCreator, roomVersionRules } from './versions.ts';

/** The fields of an event the rules read; an event being built (no id yet) qualifies. */
export type AuthorizableEvent = Pick<PersistedEvent, 'type' | 'sender' | 'room_id' | 'content' | 'prev_events'> & { state_key?: string };

const ALLOW: AuthResult = { ok: true };
const refuse = (reason: string): AuthResult => ({ ok: false, reason });

const LEVEL_KEYS = ['users_default', 'events_default', 'state_default', 'ban', 'redact', 'kick', 'invite'] as const;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The server name of a user id or room id (everything after the first colon). */
function domainOf(id: string): string | undefined {
  const colon = id.indexOf(':');
  return colon < 0 ? undefined : id.slice(colon + 1);
}

/** A user's current membership; `leave` when the room has no member event for them. */
export function currentMembership(state: StateMap<StateEvent> | StateLookup, userId: string): string {
  const member = toStateLookup(state)('m.room.member', userId);
  return typeof member?.content.membership === 'string' ? member.content.membership : 'leave';
}

/**
 * The room's join rule; `invite` when there is no `m.room.join_rules` event (the spec leaves this case
 * to "otherwise, reject" for joins, which is what `invite` gives anyone not invited).
 */
export function currentJoinRule(state: StateMap<StateEvent> | StateLookup): string {
  const rules = toStateLookup(state)('m.room.join_rules', '');
  return typeof rules?.content.join_rule === 'string' ? rules.content.join_rule : 'invite';
}

/**
 * Which state an event's `auth_events` must reference (server-server API, "Auth events selection"):
 * the create event, the power levels, the sender's membership, and for membership events the target's
 * membership, the join rules (join/invite/knock), the third-party invite (invite with one) and the
 * authorising user's membership (restricted join). The create event itself has none.
 */
export function authEventTypesFor(event: Pick<AuthorizableEvent, 'type' | 'sender' | 'content'> & { state_key?: string }): StateKeyPair[] {
  if (event.type === 'm.room.create') return [];
  const pairs: StateKeyPair[] = [
    { type: 'm.room.create', stateKey: '' },
    { type: 'm.room.power_levels', stateKey: '' },
    { type: 'm.room.member', stateKey: event.sender },
  ];
  if (event.type === 'm.room.member' && event.state_key !== undefined) {
    const membership = event.content.membership;
    pairs.push({ type: 'm.room.member', stateKey: event.state_key });
    if (membership === 'join' || membership === 'invite' || membership === 'knock') pairs.push({ type: 'm.room.join_rules', stateKey: '' });
    const invite = event.content.third_party_invite;
    if (membership === 'invite' && isObject(invite) && isObject(invite.signed) && typeof invite.signed.token === 'string') {
      pairs.push({ type: 'm.room.third_party_invite', stateKey: invite.signed.token });
    }
    const via = event.content.join_authorised_via_users_server;
    if (membership === 'join' && typeof via === 'string') pairs.push({ type: 'm.room.member', stateKey: via });
  }
  const seen = new Set<string>();
  return pairs.filter((p) => {
    const key = `${p.type}\u0000${p.stateKey}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The ids of the state events named by `authEventTypesFor` that exist in `state`, ready for `auth_events`. */
export function selectAuthEventIds(
  event: Pick<AuthorizableEvent, 'type' | 'sender' | 'content'> & { state_key?: string },
  state: StateMap<StateEvent> | StateLookup,
): string[] {
  const lookup = toStateLookup(state);
  const ids: string[] = [];
  for (const { type, stateKey } of authEventTypesFor(event)) {
    const found = lookup(type, stateKey);
    if (found) ids.push(found.event_id);
  }
  return ids;
}

/**
 * Checks `event` against the rules of `roomVersion`, given the room state before it. Returns
 * `{ ok: true }` or `{ ok: false, reason }`; the reason names no users and quotes no content.
 */
export function authorizeEvent(event: AuthorizableEvent, authState: StateMap<StateEvent> | StateLookup, roomVersion: RoomVersion): AuthResult {
  const state = toStateLookup(authState);
  const rules = roomVersionRules(roomVersion);
  const content = isObject(event.content) ? event.content : {};

  // 1. m.room.create
  if (event.type === 'm.room.create') {
    if (event.prev_events.length > 0) return refuse('The create event must not have previous events');
    const senderDomain = parseUserId(event.sender)?.serverName;
    if (!senderDomain || senderDomain !== domainOf(event.room_id)) return refuse("The room id's server must be the creator's server");
    // "If content.room_version is present and is not a recognised version, reject." We also refuse a
    // missing or different version: absence means version 1, and the caller says which version this is.
    if (Object.hasOwn(content, 'room_version') && !isSupportedRoomVersion(content.room_version)) return refuse('Unsupported room version');
    if (content.room_version !== roomVersion) return refuse('The create event names a different room version');
    if (rules.createHasCreator && !Object.hasOwn(content, 'creator')) return refuse('The create event has no creator');
    return ALLOW;
  }

  // 2. (auth events) — what remains for us: there must be a create event.
  const create = state('m.room.create', '');
  if (!create) return refuse('The room has no create event');

  // 3. m.federate
  if (create.content['m.federate'] === false && parseUserId(event.sender)?.serverName !== parseUserId(create.sender)?.serverName) {
    return refuse('This room does not accept events from other servers');
  }

  const powerLevels = state('m.room.power_levels', '');
  const levelOf = (userId: string) => userPowerLevel(userId, powerLevels, create, roomVersion);
  const senderLevel = levelOf(event.sender);
  const senderMembership = currentMembership(state, event.sender);

  // 4. m.room.member
  if (event.type === 'm.room.member') return authorizeMembership(event, content, state, create, senderLevel, senderMembership, levelOf, roomVersion);

  // 5.
  if (senderMembership !== 'join') return refuse('The sender is not joined to the room');

  // 6. m.room.third_party_invite
  if (event.type === 'm.room.third_party_invite') {
    return senderLevel >= actionPowerLevel('invite', powerLevels) ? ALLOW : refuse('The sender may not invite users');
  }

  // 7.
  if (requiredEventLevel(event.type, event.state_key !== undefined, powerLevels) > senderLevel) {
    return refuse('The sender does not have the power level to send this event type');
  }

  // 8.
  if (event.state_key !== undefined && event.state_key.startsWith('@') && event.state_key !== event.sender) {
    return refuse("State keys that are user ids may only be set by that user");
  }

  // 9. m.room.power_levels
  if (event.type === 'm.room.power_levels') return authorizePowerLevels(content, powerLevels?.content, event.sender, senderLevel);

  // 10.
  return ALLOW;
}

function authorizeMembership(
  event: AuthorizableEvent,
  content: JsonObject,
  state: StateLookup,
  create: StateEvent,
  senderLevel: number,
  senderMembership: string,
  levelOf: (userId: string) => number,
  roomVersion: RoomVersion,
): AuthResult {
  // 4.1
  if (event.state_key === undefined || !Object.hasOwn(content, 'membership')) return refuse('A membership event needs a state key and a membership');
  const target = event.state_key;
  const membership = content.membership;
  const targetMembership = currentMembership(state, target);
  const powerLevels = state('m.room.power_levels', '');
  const joinRule = currentJoinRule(state);
  // 4.2 (signature of the authorising server) is a federation check; see the file comment.

  switch (membership) {
    case 'join': {
      // 4.3.1: the creator's own first join, right after the create event (v10: `content.creator`,
      // v11: the create event's sender — `roomCreator` picks per version).
      if (event.prev_events.length === 1 && event.prev_events[0] === create.event_id && target === roomCreator(create, roomVersion)) return ALLOW;
      if (event.sender !== target) return refuse('Users may only join on their own behalf'); // 4.3.2
      if (senderMembership === 'ban') return refuse('The user is banned from the room'); // 4.3.3
      if (joinRule === 'invite' || joinRule === 'knock') {
        // 4.3.4
        return senderMembership === 'invite' || senderMembership === 'join' ? ALLOW : refuse('The room is invite only');
      }
      if (joinRule === 'restricted' || joinRule === 'knock_restricted') {
        // 4.3.5: an invite or existing membership suffices; otherwise a joined user able to invite must
        // vouch via `join_authorised_via_users_server`. Whether the joiner meets the `allow` conditions is
        // the vouching (resident) server's check before it sets that key — not an auth rule.
        if (senderMembership === 'join' || senderMembership === 'invite') return ALLOW;
        const via = content.join_authorised_via_users_server;
        if (typeof via !== 'string' || currentMembership(state, via) !== 'join' || levelOf(via) < actionPowerLevel('invite', powerLevels)) {
          return refuse('The join is not authorised by a member able to invite');
        }
        return ALLOW;
      }
      if (joinRule === 'public') return ALLOW; // 4.3.6
      return refuse('The room does not allow joining'); // 4.3.7
    }

    case 'invite': {
      // 4.4.1: third-party invites are not supported (see the file comment).
      if (Object.hasOwn(content, 'third_party_invite')) return refuse('Third-party invites are not supported');
      if (senderMembership !== 'join') return refuse('The sender is not joined to the room'); // 4.4.2
      if (targetMembership === 'join') return refuse('The user is already in the room'); // 4.4.3
      if (targetMembership === 'ban') return refuse('The user is banned from the room');
      return senderLevel >= actionPowerLevel('invite', powerLevels) ? ALLOW : refuse('The sender may not invite users'); // 4.4.4–5
    }

    case 'leave': {
      if (event.sender === target) {
        // 4.5.1
        return senderMembership === 'invite' || senderMembership === 'join' || senderMembership === 'knock'
          ? ALLOW
          : refuse('The user cannot leave a room they are not in');
      }
      if (senderMembership !== 'join') return refuse('The sender is not joined to the room'); // 4.5.2
      if (targetMembership === 'ban' && senderLevel < actionPowerLevel('ban', powerLevels)) return refuse('The sender may not unban users'); // 4.5.3
      if (senderLevel >= actionPowerLevel('kick', powerLevels) && levelOf(target) < senderLevel) return ALLOW; // 4.5.4
      return refuse('The sender may not kick this user'); // 4.5.5
    }

    case 'ban': {
      if (senderMembership !== 'join') return refuse('The sender is not joined to the room'); // 4.6.1
      if (senderLevel >= actionPowerLevel('ban', powerLevels) && levelOf(target) < senderLevel) return ALLOW; // 4.6.2
      return refuse('The sender may not ban this user'); // 4.6.3
    }

    case 'knock': {
      if (joinRule !== 'knock' && joinRule !== 'knock_restricted') return refuse('The room does not allow knocking'); // 4.7.1
      if (event.sender !== target) return refuse('Users may only knock on their own behalf'); // 4.7.2
      if (senderMembership !== 'ban' && senderMembership !== 'invite' && senderMembership !== 'join') return ALLOW; // 4.7.3
      return refuse('The user cannot knock on this room'); // 4.7.4
    }

    default:
      return refuse('Unknown membership'); // 4.8
  }
}

function isIntegerMap(value: unknown, validKey: (key: string) => boolean = () => true): boolean {
  return isObject(value) && Object.entries(value).every(([k, v]) => validKey(k) && asPowerLevel(v) !== undefined);
}

/** Rule 9: the shape of a new power levels event, and what the sender may change. */
function authorizePowerLevels(content: JsonObject, current: JsonObject | undefined, sender: string, senderLevel: number): AuthResult {
  // 9.1–9.3 (integers only; `users` keys must be user ids)
  for (const key of LEVEL_KEYS) {
    if (Object.hasOwn(content, key) && asPowerLevel(content[key]) === undefined) return refuse('Power levels must be integers');
  }
  for (const key of ['events', 'notifications'] as const) {
    if (Object.hasOwn(content, key) && !isIntegerMap(content[key])) return refuse('Power levels must be integers');
  }
  if (Object.hasOwn(content, 'users') && !isIntegerMap(content.users, (k) => parseUserId(k) !== undefined)) {
    return refuse('Power levels must map user ids to integers');
  }

  // 9.4
  if (!current) return ALLOW;

  // 9.5: added, changed or removed top-level levels must not be above the sender's, before or after.
  for (const key of LEVEL_KEYS) {
    const before = asPowerLevel(current[key]);
    const after = asPowerLevel(content[key]);
    if (before === after) continue;
    if (before !== undefined && before > senderLevel) return refuse('The sender may not change a level above their own');
    if (after !== undefined && after > senderLevel) return refuse('The sender may not set a level above their own');
  }

  // 9.6–9.7: events and notifications
  for (const key of ['events', 'notifications'] as const) {
    const result = checkMapChanges(mapOf(current[key]), mapOf(content[key]), (before, after) => {
      if (before !== undefined && before > senderLevel) return 'The sender may not change a level above their own';
      if (after !== undefined && after > senderLevel) return 'The sender may not set a level above their own';
      return undefined;
    });
    if (result) return result;
  }

  // 9.8–9.9: users
  return (
    checkMapChanges(mapOf(current.users), mapOf(content.users), (before, after, userId) => {
      if (before !== undefined && userId !== sender && before >= senderLevel) return 'The sender may not change the level of a user at or above their own';
      if (after !== undefined && after > senderLevel) return 'The sender may not give a level above their own';
      return undefined;
    }) ?? ALLOW
  );
}

function mapOf(value: unknown): Map<string, number> {
  const map = new Map<string, number>();
  if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      const level = asPowerLevel(v);
      if (level !== undefined) map.set(k, level);
    }
  }
  return map;
}

/** Calls `check(before, after, key)` for every key added, changed or removed; the first refusal wins. */
function checkMapChanges(
  before: Map<string, number>,
  after: Map<string, number>,
  check: (before: number | undefined, after: number | undefined, key: string) => string | undefined,
): AuthResult | undefined {
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const b = before.get(key);
    const a = after.get(key);
    if (b === a) continue;
    const reason = check(b, a, key);
    if (reason) return refuse(reason);
  }
  return undefined;
}

/**
 * Whether a user may redact an event (client-server API; `m.room.power_levels` schema: "The power level
 * required to redact an event sent by another user is additionally governed by `redact`"). Use it when
 * a local user asks to redact, alongside `authorizeEvent` for the redaction event itself. It is stricter
 * than "Handling redactions" (which lets any user of the original sender's server redact), because on a
 * single server that rule would let every local user redact everyone's events.
 */
export function mayRedact(
  redactingUser: string,
  originalSender: string,
  state: StateMap<StateEvent> | StateLookup,
  roomVersion: RoomVersion,
): AuthResult {
  if (redactingUser === originalSender) return ALLOW;
  const lookup = toStateLookup(state);
  const powerLevels = lookup('m.room.power_levels', '');
  const level = userPowerLevel(redactingUser, powerLevels, lookup('m.room.create', ''), roomVersion);
  return level >= actionPowerLevel('redact', powerLevels) ? ALLOW : refuse("The sender may not redact other users' events");
}
