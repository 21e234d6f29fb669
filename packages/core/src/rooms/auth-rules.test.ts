import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { authEventTypesFor, authorizeEvent, currentJoinRule, currentMembership, mayRedact, selectAuthEventIds, type AuthorizableEvent } from './auth-rules.ts';
import type { RoomVersion, StateEvent } from './types.ts';
import { stateMapKey, stateMapOf } from './types.ts';

const HS = 'hs.example';
const ROOM = `!room:${HS}`;
const alice = `@alice:${HS}`; // creator, level 100
const mod = `@mod:${HS}`; // level 50
const mod2 = `@mod2:${HS}`; // level 50
const bob = `@bob:${HS}`; // joined, level 0
const carol = `@carol:${HS}`; // invited
const dave = `@dave:${HS}`; // banned
const erin = `@erin:${HS}`; // left
const frank = `@frank:${HS}`; // knocking
const olga = `@olga:${HS}`; // never in the room
const remote = '@rita:other.example';

type Json = Record<string, unknown>;

interface RoomOptions {
  /** `null`: no join rules event. Default `invite`. */
  joinRule?: string | null;
  /** Power levels content; `null`: no power levels event. */
  powerLevels?: Json | null;
  /** Extra power levels content merged over the default. */
  levels?: Json;
  /** Extra create content. */
  createContent?: Json;
  /** Only the create event (nothing else). */
  bare?: boolean;
  /** No state at all. */
  empty?: boolean;
}

function stateEvent(type: string, stateKey: string, sender: string, content: Json): StateEvent {
  return { event_id: `$${type}/${stateKey}`, type, state_key: stateKey, sender, content };
}

function createContent(v: RoomVersion, extra: Json = {}): Json {
  return v === '10' ? { creator: alice, room_version: v, ...extra } : { room_version: v, ...extra };
}

function room(v: RoomVersion, options: RoomOptions = {}): Map<string, StateEvent> {
  if (options.empty) return new Map();
  const events = [stateEvent('m.room.create', '', alice, createContent(v, options.createContent))];
  if (!options.bare) {
    const powerLevels =
      options.powerLevels === undefined
        ? { users: { [alice]: 100, [mod]: 50, [mod2]: 50 }, events: { 'm.room.power_levels': 50, 'm.room.tombstone': 100 }, ...options.levels }
        : options.powerLevels;
    if (powerLevels) events.push(stateEvent('m.room.power_levels', '', alice, powerLevels));
    if (options.joinRule !== null) events.push(stateEvent('m.room.join_rules', '', alice, { join_rule: options.joinRule ?? 'invite' }));
    const members: [string, string][] = [[alice, 'join'], [mod, 'join'], [mod2, 'join'], [bob, 'join'], [carol, 'invite'], [dave, 'ban'], [erin, 'leave'], [frank, 'knock']];
    for (const [user, membership] of members) events.push(stateEvent('m.room.member', user, user, { membership }));
  }
  return stateMapOf(events);
}

function ev(type: string, sender: string, content: Json, stateKey?: string, extra: Partial<AuthorizableEvent> = {}): AuthorizableEvent {
  return { type, sender, content, room_id: ROOM, prev_events: ['$prev'], ...(stateKey === undefined ? {} : { state_key: stateKey }), ...extra };
}

const CREATE_ID = '$m.room.create/';
const afterCreate = { prev_events: [CREATE_ID] };
const member = (sender: string, target: string, membership: string, extra: Json = {}) => ev('m.room.member', sender, { membership, ...extra }, target);
const powerLevels = (sender: string, content: Json) => ev('m.room.power_levels', sender, content, '');
const baseLevels = { users: { [alice]: 100, [mod]: 50, [mod2]: 50 }, events: { 'm.room.power_levels': 50, 'm.room.tombstone': 100 } };

interface Case {
  name: string;
  event: (v: RoomVersion) => AuthorizableEvent;
  room?: RoomOptions;
  /** true: allowed; a RegExp: refused with a matching reason. */
  expect: true | RegExp;
  versions?: RoomVersion[];
}

const cases: Case[] = [
  // 1. m.room.create
  { name: 'a create event with no previous events on the sender’s server is allowed', event: (v) => ev('m.room.create', alice, createContent(v), '', { prev_events: [] }), expect: true },
  { name: 'a create event with previous events is refused', event: (v) => ev('m.room.create', alice, createContent(v), ''), expect: /previous events/ },
  { name: 'a create event for a room id of another server is refused', event: (v) => ev('m.room.create', alice, createContent(v), '', { prev_events: [], room_id: '!room:other.example' }), expect: /server/ },
  { name: 'a create event naming an unknown room version is refused', event: (v) => ev('m.room.create', alice, { ...createContent(v), room_version: '999' }, '', { prev_events: [] }), expect: /Unsupported room version/ },
  { name: 'a create event naming another supported version is refused', event: (v) => ev('m.room.create', alice, { ...createContent(v), room_version: v === '10' ? '11' : '10' }, '', { prev_events: [] }), expect: /different room version/ },
  { name: 'a v10 create event without creator is refused', versions: ['10'], event: () => ev('m.room.create', alice, { room_version: '10' }, '', { prev_events: [] }), expect: /no creator/ },
  { name: 'a v11 create event without creator is allowed', versions: ['11'], event: () => ev('m.room.create', alice, { room_version: '11' }, '', { prev_events: [] }), expect: true },

  // 3. m.federate
  { name: 'a remote user cannot join a room with m.federate false', room: { joinRule: 'public', createContent: { 'm.federate': false } }, event: () => member(remote, remote, 'join'), expect: /other servers/ },
  { name: 'a local user can join a public room with m.federate false', room: { joinRule: 'public', createContent: { 'm.federate': false } }, event: () => member(olga, olga, 'join'), expect: true },

  // 4.1
  { name: 'a member event without membership is refused', event: () => ev('m.room.member', bob, {}, bob), expect: /membership/ },
  { name: 'a member event without state key is refused', event: () => ev('m.room.member', bob, { membership: 'join' }), expect: /state key/ },

  // 4.3 join
  { name: 'the creator may join right after the create event', room: { bare: true }, event: () => ({ ...member(alice, alice, 'join'), ...afterCreate }), expect: true },
  { name: 'someone else may not join right after the create event', room: { bare: true }, event: () => ({ ...member(bob, bob, 'join'), ...afterCreate }), expect: /invite only/ },
  { name: 'a user may not join on behalf of someone else', room: { joinRule: 'public' }, event: () => member(bob, olga, 'join'), expect: /own behalf/ },
  { name: 'a banned user may not join a public room', room: { joinRule: 'public' }, event: () => member(dave, dave, 'join'), expect: /banned/ },
  { name: 'anyone may join a public room', room: { joinRule: 'public' }, event: () => member(olga, olga, 'join'), expect: true },
  { name: 'an uninvited user may not join an invite-only room', event: () => member(olga, olga, 'join'), expect: /invite only/ },
  { name: 'an invited user may join an invite-only room', event: () => member(carol, carol, 'join'), expect: true },
  { name: 'a joined user may update their member event in an invite-only room', event: () => member(bob, bob, 'join', { displayname: 'B' }), expect: true },
  { name: 'a user who left may not rejoin an invite-only room', event: () => member(erin, erin, 'join'), expect: /invite only/ },
  { name: 'an invited user may join a knock room', room: { joinRule: 'knock' }, event: () => member(carol, carol, 'join'), expect: true },
  { name: 'a knocking user may not join a knock room before being invited', room: { joinRule: 'knock' }, event: () => member(frank, frank, 'join'), expect: /invite only/ },
  { name: 'a room without join rules behaves as invite only', room: { joinRule: null }, event: () => member(olga, olga, 'join'), expect: /invite only/ },
  { name: 'a private join rule lets nobody join', room: { joinRule: 'private' }, event: () => member(olga, olga, 'join'), expect: /does not allow joining/ },
  { name: 'an invited user may join a restricted room', room: { joinRule: 'restricted' }, event: () => member(carol, carol, 'join'), expect: true },
  { name: 'an unvouched join of a restricted room is refused', room: { joinRule: 'restricted' }, event: () => member(olga, olga, 'join'), expect: /not authorised/ },
  { name: 'a join vouched by a joined member able to invite is allowed', room: { joinRule: 'restricted' }, event: () => member(olga, olga, 'join', { join_authorised_via_users_server: bob }), expect: true },
  { name: 'a join vouched by a user who is not joined is refused', room: { joinRule: 'restricted' }, event: () => member(olga, olga, 'join', { join_authorised_via_users_server: carol }), expect: /not authorised/ },
  { name: 'a join vouched by a member below the invite level is refused', room: { joinRule: 'restricted', levels: { invite: 50 } }, event: () => member(olga, olga, 'join', { join_authorised_via_users_server: bob }), expect: /not authorised/ },
  { name: 'a vouched join of a knock_restricted room is allowed', room: { joinRule: 'knock_restricted' }, event: () => member(olga, olga, 'join', { join_authorised_via_users_server: mod }), expect: true },
  { name: 'a banned user may not join a restricted room even when vouched for', room: { joinRule: 'restricted' }, event: () => member(dave, dave, 'join', { join_authorised_via_users_server: mod }), expect: /banned/ },

  // 4.4 invite
  { name: 'a joined member may invite at the default invite level 0', event: () => member(bob, olga, 'invite'), expect: true },
  { name: 'an invited user may not invite others', event: () => member(carol, olga, 'invite'), expect: /not joined/ },
  { name: 'a joined user may not be invited', event: () => member(bob, mod, 'invite'), expect: /already in the room/ },
  { name: 'a banned user may not be invited', event: () => member(alice, dave, 'invite'), expect: /banned/ },
  { name: 'an invited user may be invited again', event: () => member(bob, carol, 'invite'), expect: true },
  { name: 'a member below the invite level may not invite', room: { levels: { invite: 50 } }, event: () => member(bob, olga, 'invite'), expect: /may not invite/ },
  { name: 'a member at the invite level may invite', room: { levels: { invite: 50 } }, event: () => member(mod, olga, 'invite'), expect: true },
  { name: 'third-party invites are refused as unsupported', event: () => member(alice, olga, 'invite', { third_party_invite: { signed: { mxid: olga, token: 't' } } }), expect: /Third-party/ },

  // 4.5 leave
  { name: 'a joined user may leave', event: () => member(bob, bob, 'leave'), expect: true },
  { name: 'an invited user may reject the invite', event: () => member(carol, carol, 'leave'), expect: true },
  { name: 'a knocking user may rescind the knock', event: () => member(frank, frank, 'leave'), expect: true },
  { name: 'a user who already left may not leave again', event: () => member(erin, erin, 'leave'), expect: /not in/ },
  { name: 'a banned user may not unban themselves by leaving', event: () => member(dave, dave, 'leave'), expect: /not in/ },
  { name: 'a user who is not joined may not kick', event: () => member(carol, bob, 'leave'), expect: /not joined/ },
  { name: 'a moderator may kick a user of lower level', event: () => member(mod, bob, 'leave'), expect: true },
  { name: 'a moderator may revoke an invite', event: () => member(mod, carol, 'leave'), expect: true },
  { name: 'a user below the kick level may not kick', event: () => member(bob, carol, 'leave'), expect: /may not kick/ },
  { name: 'a moderator may not kick a user of equal level', event: () => member(mod, mod2, 'leave'), expect: /may not kick/ },
  { name: 'a moderator may not kick a user of higher level', event: () => member(mod, alice, 'leave'), expect: /may not kick/ },
  { name: 'a user at the ban and kick levels may unban', event: () => member(mod, dave, 'leave'), expect: true },
  { name: 'a user below the ban level may not unban', room: { levels: { ban: 75 } }, event: () => member(mod, dave, 'leave'), expect: /unban/ },

  // 4.6 ban
  { name: 'a moderator may ban a user of lower level', event: () => member(mod, bob, 'ban'), expect: true },
  { name: 'a moderator may ban someone never in the room', event: () => member(mod, olga, 'ban'), expect: true },
  { name: 'a user below the ban level may not ban', event: () => member(bob, olga, 'ban'), expect: /may not ban/ },
  { name: 'a moderator may not ban a user of higher level', event: () => member(mod, alice, 'ban'), expect: /may not ban/ },
  { name: 'a user who is not joined may not ban', event: () => member(erin, bob, 'ban'), expect: /not joined/ },

  // 4.7 knock
  { name: 'an outsider may knock on a knock room', room: { joinRule: 'knock' }, event: () => member(olga, olga, 'knock'), expect: true },
  { name: 'a user who left may knock again', room: { joinRule: 'knock' }, event: () => member(erin, erin, 'knock'), expect: true },
  { name: 'an outsider may knock on a knock_restricted room', room: { joinRule: 'knock_restricted' }, event: () => member(olga, olga, 'knock'), expect: true },
  { name: 'knocking on an invite-only room is refused', event: () => member(olga, olga, 'knock'), expect: /does not allow knocking/ },
  { name: 'knocking on behalf of someone else is refused', room: { joinRule: 'knock' }, event: () => member(bob, olga, 'knock'), expect: /own behalf/ },
  { name: 'a banned user may not knock', room: { joinRule: 'knock' }, event: () => member(dave, dave, 'knock'), expect: /cannot knock/ },
  { name: 'a joined user may not knock', room: { joinRule: 'knock' }, event: () => member(bob, bob, 'knock'), expect: /cannot knock/ },

  // 4.8
  { name: 'an unknown membership is refused', event: () => member(bob, bob, 'wander'), expect: /Unknown membership/ },

  // 2, 5
  { name: 'events in a room with no create event are refused', room: { empty: true }, event: () => ev('m.room.message', alice, { body: 'x' }), expect: /no create event/ },
  { name: 'a joined member may send a message', event: () => ev('m.room.message', bob, { body: 'x' }), expect: true },
  { name: 'an invited user may not send a message', event: () => ev('m.room.message', carol, { body: 'x' }), expect: /not joined/ },
  { name: 'an outsider may not send a message', event: () => ev('m.room.message', olga, { body: 'x' }), expect: /not joined/ },

  // 6. m.room.third_party_invite
  { name: 'a member at the invite level may send a third-party invite event', event: () => ev('m.room.third_party_invite', bob, { display_name: 'x' }, 'token'), expect: true },
  { name: 'a member below the invite level may not send a third-party invite event', room: { levels: { invite: 50 } }, event: () => ev('m.room.third_party_invite', bob, { display_name: 'x' }, 'token'), expect: /may not invite/ },

  // 7. required power level
  { name: 'a member below events_default may not send messages', room: { levels: { events_default: 10 } }, event: () => ev('m.room.message', bob, { body: 'x' }), expect: /power level/ },
  { name: 'a member below state_default may not send state', event: () => ev('m.room.topic', bob, { topic: 'x' }, ''), expect: /power level/ },
  { name: 'a member at state_default may send state', event: () => ev('m.room.topic', mod, { topic: 'x' }, ''), expect: true },
  { name: 'an events entry overrides state_default', room: { levels: { events: { 'm.room.topic': 0 } } }, event: () => ev('m.room.topic', bob, { topic: 'x' }, ''), expect: true },
  { name: 'an events entry above the sender’s level refuses', event: () => ev('m.room.tombstone', mod, { body: 'x', replacement_room: '!n:hs' }, ''), expect: /power level/ },
  { name: 'an empty state key makes an event a state event', room: { levels: { events_default: 0, state_default: 10 } }, event: () => ev('m.custom', bob, {}, ''), expect: /power level/ },
  { name: 'without power levels the creator may send state', room: { powerLevels: null }, event: () => ev('m.room.name', alice, { name: 'x' }, ''), expect: true },
  { name: 'without power levels others may not send state (state_default 50)', room: { powerLevels: null }, event: () => ev('m.room.name', bob, { name: 'x' }, ''), expect: /power level/ },
  { name: 'without power levels others may send messages', room: { powerLevels: null }, event: () => ev('m.room.message', bob, { body: 'x' }), expect: true },
  { name: 'a redaction event is allowed without the redact level', event: () => ev('m.room.redaction', bob, { redacts: '$x' }), expect: true },
  { name: 'a redaction event obeys events levels', room: { levels: { events: { 'm.room.redaction': 50 } } }, event: () => ev('m.room.redaction', bob, { redacts: '$x' }), expect: /power level/ },

  // 8. user-id state keys
  { name: 'a user may set state under their own user id', room: { levels: { state_default: 0 } }, event: () => ev('m.custom', bob, {}, bob), expect: true },
  { name: 'a user may not set state under another user id', room: { levels: { state_default: 0 } }, event: () => ev('m.custom', bob, {}, alice), expect: /user ids/ },

  // 9. m.room.power_levels: shape
  { name: 'a power level given as a string is refused', event: () => powerLevels(alice, { ...baseLevels, ban: '50' }), expect: /integers/ },
  { name: 'a power level given as a fraction is refused', event: () => powerLevels(alice, { ...baseLevels, kick: 50.5 }), expect: /integers/ },
  { name: 'an events level given as a string is refused', event: () => powerLevels(alice, { ...baseLevels, events: { 'm.room.name': '50' } }), expect: /integers/ },
  { name: 'a notifications level given as a string is refused', event: () => powerLevels(alice, { ...baseLevels, notifications: { room: '50' } }), expect: /integers/ },
  { name: 'a users key that is not a user id is refused', event: () => powerLevels(alice, { ...baseLevels, users: { [alice]: 100, notauser: 10 } }), expect: /user ids/ },
  { name: 'a users level given as a string is refused', event: () => powerLevels(alice, { ...baseLevels, users: { [alice]: '100' } }), expect: /user ids/ },
  { name: 'the first power levels event is allowed whatever it sets', room: { powerLevels: null }, event: () => powerLevels(alice, { users: { [alice]: 100, [bob]: 100 }, ban: 1000 }), expect: true },

  // 9. m.room.power_levels: changes
  { name: 'the creator may raise the ban level', event: () => powerLevels(alice, { ...baseLevels, ban: 60 }), expect: true },
  { name: 'a moderator may not raise a level above their own', event: () => powerLevels(mod, { ...baseLevels, ban: 60 }), expect: /above their own/ },
  { name: 'a moderator may lower a level at their own', event: () => powerLevels(mod, { ...baseLevels, kick: 40 }), expect: true },
  { name: 'a moderator may not change a level above their own', room: { levels: { redact: 75 } }, event: () => powerLevels(mod, { ...baseLevels, redact: 40 }), expect: /above their own/ },
  { name: 'a moderator may not remove a level above their own', room: { levels: { redact: 75 } }, event: () => powerLevels(mod, { ...baseLevels }), expect: /above their own/ },
  { name: 'a moderator may not change an events level above their own', event: () => powerLevels(mod, { ...baseLevels, events: { 'm.room.power_levels': 50, 'm.room.tombstone': 40 } }), expect: /above their own/ },
  { name: 'a moderator may not add an events level above their own', event: () => powerLevels(mod, { ...baseLevels, events: { ...baseLevels.events, 'm.room.name': 60 } }), expect: /above their own/ },
  { name: 'a moderator may add an events level up to their own', event: () => powerLevels(mod, { ...baseLevels, events: { ...baseLevels.events, 'm.room.name': 50 } }), expect: true },
  { name: 'a moderator may not set a notifications level above their own', event: () => powerLevels(mod, { ...baseLevels, notifications: { room: 60 } }), expect: /above their own/ },
  { name: 'a moderator may promote a user up to their own level', event: () => powerLevels(mod, { ...baseLevels, users: { ...baseLevels.users, [bob]: 50 } }), expect: true },
  { name: 'a moderator may not promote a user above their own level', event: () => powerLevels(mod, { ...baseLevels, users: { ...baseLevels.users, [bob]: 51 } }), expect: /above their own/ },
  { name: 'a moderator may not demote a user at their own level', event: () => powerLevels(mod, { ...baseLevels, users: { ...baseLevels.users, [mod2]: 0 } }), expect: /at or above/ },
  { name: 'a moderator may not remove a user above their level', event: () => powerLevels(mod, { ...baseLevels, users: { [mod]: 50, [mod2]: 50 } }), expect: /at or above/ },
  { name: 'a moderator may demote themselves', event: () => powerLevels(mod, { ...baseLevels, users: { ...baseLevels.users, [mod]: 10 } }), expect: true },
  { name: 'an unchanged power levels event is allowed for a moderator', event: () => powerLevels(mod, { ...baseLevels }), expect: true },
  { name: 'a member below the power levels event level may not send one', event: () => powerLevels(bob, { ...baseLevels }), expect: /power level/ },
];

for (const version of ['10', '11'] as const) {
  describe(`authorization rules, room version ${version}`, () => {
    for (const c of cases) {
      if (c.versions && !c.versions.includes(version)) continue;
      test(c.name, () => {
        const result = authorizeEvent(c.event(version), room(version, c.room), version);
        if (c.expect === true) assert.deepEqual(result, { ok: true });
        else {
          assert.equal(result.ok, false, 'expected a refusal');
          if (!result.ok) assert.match(result.reason, c.expect);
        }
      });
    }
  });
}

describe('version differences in the creator’s first join', () => {
  test('v10 recognises the creator by content.creator', () => {
    const state = stateMapOf([stateEvent('m.room.create', '', alice, { creator: bob, room_version: '10' })]);
    assert.deepEqual(authorizeEvent({ ...member(bob, bob, 'join'), ...afterCreate }, state, '10'), { ok: true });
    assert.equal(authorizeEvent({ ...member(alice, alice, 'join'), ...afterCreate }, state, '10').ok, false);
  });

  test('v11 recognises the creator by the create event’s sender', () => {
    const state = stateMapOf([stateEvent('m.room.create', '', alice, { creator: bob, room_version: '11' })]);
    assert.deepEqual(authorizeEvent({ ...member(alice, alice, 'join'), ...afterCreate }, state, '11'), { ok: true });
    assert.equal(authorizeEvent({ ...member(bob, bob, 'join'), ...afterCreate }, state, '11').ok, false);
  });

  test('the creator’s join needs the create event as the only previous event', () => {
    const state = room('11', { bare: true });
    assert.equal(authorizeEvent(member(alice, alice, 'join'), state, '11').ok, false);
    assert.deepEqual(authorizeEvent({ ...member(alice, alice, 'join'), ...afterCreate }, state, '11'), { ok: true });
    assert.equal(authorizeEvent({ ...member(alice, alice, 'join'), prev_events: [CREATE_ID, '$other'] }, state, '11').ok, false);
  });
});

describe('refusal reasons', () => {
  test('never name the users involved', () => {
    for (const version of ['10', '11'] as const) {
      for (const c of cases) {
        if (c.versions && !c.versions.includes(version)) continue;
        const result = authorizeEvent(c.event(version), room(version, c.room), version);
        if (!result.ok) assert.doesNotMatch(result.reason, /@|hs\.example/, c.name);
      }
    }
  });
});

describe('auth events selection', () => {
  test('the create event needs no auth events', () => {
    assert.deepEqual(authEventTypesFor(ev('m.room.create', alice, {}, '')), []);
  });

  test('a message needs create, power levels and the sender’s membership', () => {
    assert.deepEqual(authEventTypesFor(ev('m.room.message', bob, {})), [
      { type: 'm.room.create', stateKey: '' },
      { type: 'm.room.power_levels', stateKey: '' },
      { type: 'm.room.member', stateKey: bob },
    ]);
  });

  test('an invite also needs the target’s membership and the join rules', () => {
    assert.deepEqual(authEventTypesFor(member(bob, olga, 'invite')).slice(3), [
      { type: 'm.room.member', stateKey: olga },
      { type: 'm.room.join_rules', stateKey: '' },
    ]);
  });

  test('a self-join lists the member once, plus the join rules and the vouching member', () => {
    assert.deepEqual(authEventTypesFor(member(olga, olga, 'join', { join_authorised_via_users_server: mod })).slice(2), [
      { type: 'm.room.member', stateKey: olga },
      { type: 'm.room.join_rules', stateKey: '' },
      { type: 'm.room.member', stateKey: mod },
    ]);
  });

  test('a kick does not need the join rules', () => {
    assert.ok(!authEventTypesFor(member(mod, bob, 'leave')).some((p) => p.type === 'm.room.join_rules'));
  });

  test('a third-party invite needs the invite event named by its token', () => {
    const pairs = authEventTypesFor(member(bob, olga, 'invite', { third_party_invite: { signed: { token: 'abc' } } }));
    assert.deepEqual(pairs.at(-1), { type: 'm.room.third_party_invite', stateKey: 'abc' });
  });

  test('selectAuthEventIds returns the ids of the state that exists', () => {
    const state = room('11');
    assert.deepEqual(selectAuthEventIds(member(bob, olga, 'invite'), state), [
      '$m.room.create/',
      '$m.room.power_levels/',
      `$m.room.member/${bob}`,
      '$m.room.join_rules/',
    ]);
  });

  test('a lookup function works as well as a state map', () => {
    const state = room('11');
    const lookup = (type: string, stateKey: string) => state.get(stateMapKey(type, stateKey));
    assert.deepEqual(authorizeEvent(member(carol, carol, 'join'), lookup, '11'), { ok: true });
    assert.equal(currentMembership(lookup, dave), 'ban');
    assert.equal(currentMembership(lookup, olga), 'leave');
    assert.equal(currentJoinRule(lookup), 'invite');
  });
});

describe('who may redact', () => {
  test('anyone may redact their own events', () => {
    assert.deepEqual(mayRedact(bob, bob, room('11'), '11'), { ok: true });
  });
  test('a moderator at the redact level may redact others’ events', () => {
    assert.deepEqual(mayRedact(mod, bob, room('11'), '11'), { ok: true });
  });
  test('a member below the redact level may not redact others’ events', () => {
    assert.equal(mayRedact(bob, mod, room('11'), '11').ok, false);
  });
  test('without power levels only the creator may redact others’ events', () => {
    assert.deepEqual(mayRedact(alice, bob, room('10', { powerLevels: null }), '10'), { ok: true });
    assert.equal(mayRedact(bob, alice, room('10', { powerLevels: null }), '10').ok, false);
  });
});
