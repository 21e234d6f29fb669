import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redactContent, redactEvent } from './redaction.ts';
import type { PersistedEvent, RoomVersion } from './types.ts';

type Json = Record<string, unknown>;

const envelope = {
  event_id: '$e',
  room_id: '!r:hs.example',
  sender: '@u:hs.example',
  origin_server_ts: 1000000,
  depth: 7,
  prev_events: ['$p'],
  auth_events: ['$a'],
  hashes: { sha256: 'h' },
  signatures: { 'hs.example': { 'ed25519:1': 's' } },
};

/** The spec's per-type content lists, one row per type, with what survives in each version. */
const contentCases: { type: string; content: Json; v10: Json; v11: Json }[] = [
  {
    type: 'm.room.member',
    content: { membership: 'join', displayname: 'U', avatar_url: 'mxc://x/y', join_authorised_via_users_server: '@v:hs.example', reason: 'r' },
    v10: { membership: 'join', join_authorised_via_users_server: '@v:hs.example' },
    v11: { membership: 'join', join_authorised_via_users_server: '@v:hs.example' },
  },
  {
    type: 'm.room.member',
    content: { membership: 'invite', third_party_invite: { display_name: 'x', signed: { mxid: '@u:hs.example', token: 't', signatures: {} } } },
    v10: { membership: 'invite' },
    v11: { membership: 'invite', third_party_invite: { signed: { mxid: '@u:hs.example', token: 't', signatures: {} } } },
  },
  {
    type: 'm.room.member',
    content: { membership: 'invite', third_party_invite: { display_name: 'no signed key' } },
    v10: { membership: 'invite' },
    v11: { membership: 'invite' },
  },
  {
    type: 'm.room.create',
    content: { creator: '@u:hs.example', room_version: '10', 'm.federate': false, predecessor: { room_id: '!o:hs', event_id: '$o' }, type: 'm.space' },
    v10: { creator: '@u:hs.example' },
    v11: { creator: '@u:hs.example', room_version: '10', 'm.federate': false, predecessor: { room_id: '!o:hs', event_id: '$o' }, type: 'm.space' },
  },
  {
    type: 'm.room.join_rules',
    content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!s:hs' }], other: 1 },
    v10: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!s:hs' }] },
    v11: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!s:hs' }] },
  },
  {
    type: 'm.room.power_levels',
    content: { ban: 50, events: { 'm.room.name': 50 }, events_default: 0, invite: 0, kick: 50, redact: 50, state_default: 50, users: { '@u:hs.example': 100 }, users_default: 0, notifications: { room: 50 }, historical: 100 },
    v10: { ban: 50, events: { 'm.room.name': 50 }, events_default: 0, kick: 50, redact: 50, state_default: 50, users: { '@u:hs.example': 100 }, users_default: 0 },
    v11: { ban: 50, events: { 'm.room.name': 50 }, events_default: 0, invite: 0, kick: 50, redact: 50, state_default: 50, users: { '@u:hs.example': 100 }, users_default: 0 },
  },
  { type: 'm.room.history_visibility', content: { history_visibility: 'shared', extra: true }, v10: { history_visibility: 'shared' }, v11: { history_visibility: 'shared' } },
  { type: 'm.room.redaction', content: { redacts: '$target', reason: 'spam' }, v10: {}, v11: { redacts: '$target' } },
  { type: 'm.room.message', content: { msgtype: 'm.text', body: 'private details' }, v10: {}, v11: {} },
  { type: 'm.room.name', content: { name: 'Ward 3' }, v10: {}, v11: {} },
  { type: 'm.room.topic', content: { topic: 'x' }, v10: {}, v11: {} },
  { type: 'm.room.guest_access', content: { guest_access: 'can_join' }, v10: {}, v11: {} },
  { type: 'm.room.encryption', content: { algorithm: 'm.megolm.v1.aes-sha2' }, v10: {}, v11: {} },
];

for (const version of ['10', '11'] as const) {
  describe(`redaction, room version ${version}`, () => {
    for (const c of contentCases) {
      test(`${c.type} keeps ${JSON.stringify(Object.keys(c[`v${version}`]))} of ${JSON.stringify(Object.keys(c.content))}`, () => {
        const stateKey = c.type === 'm.room.member' ? '@u:hs.example' : '';
        const event = { ...envelope, type: c.type, state_key: stateKey, content: c.content } satisfies PersistedEvent;
        assert.deepEqual(redactEvent(event, version), { ...envelope, type: c.type, state_key: stateKey, content: c[`v${version}`] });
      });
    }
  });
}

describe('redaction of top-level keys', () => {
  const extras = { origin: 'hs.example', membership: 'join', prev_state: [], unsigned: { age: 5, transaction_id: 't' }, redacts: '$t', age_ts: 5, something: 'else' };
  const event: Json = { ...envelope, type: 'm.room.redaction', content: { redacts: '$t' }, ...extras };

  test('v10 keeps origin, membership and prev_state and drops unsigned, redacts and unknown keys', () => {
    assert.deepEqual(redactEvent(event, '10'), { ...envelope, type: 'm.room.redaction', content: {}, origin: 'hs.example', membership: 'join', prev_state: [] });
  });

  test('v11 drops origin, membership and prev_state too', () => {
    assert.deepEqual(redactEvent(event, '11'), { ...envelope, type: 'm.room.redaction', content: { redacts: '$t' } });
  });

  test('a message event keeps no state_key when it had none', () => {
    const message = { ...envelope, type: 'm.room.message', content: { body: 'x' } } satisfies PersistedEvent;
    assert.ok(!('state_key' in redactEvent(message, '11')));
  });

  test('redaction does not change its input and shares no objects with it', () => {
    const create: PersistedEvent = { ...envelope, type: 'm.room.create', state_key: '', content: { room_version: '11', predecessor: { room_id: '!o:hs' } } };
    const before = structuredClone(create);
    const redacted = redactEvent(create, '11');
    assert.deepEqual(create, before);
    (redacted.content.predecessor as Json).room_id = 'changed';
    (redacted.prev_events as string[]).push('$x');
    assert.deepEqual(create, before);
  });

  test('redacting twice gives the same result', () => {
    for (const version of ['10', '11'] as RoomVersion[]) {
      for (const c of contentCases) {
        const once = redactEvent({ ...envelope, type: c.type, state_key: '', content: c.content }, version);
        assert.deepEqual(redactEvent(once, version), once);
      }
    }
  });

  test('content that is not an object becomes empty', () => {
    assert.deepEqual(redactContent('m.room.member', 'join', '11'), {});
    assert.deepEqual(redactContent('m.room.create', ['x'], '11'), {});
  });

  test('a "__proto__" key in content survives as the plain key it was sent as', () => {
    const content = JSON.parse('{"room_version": "11", "__proto__": {"injected": true}}') as Record<string, Json>;
    const redacted = redactContent('m.room.create', content, '11');
    assert.equal(Object.getPrototypeOf(redacted), Object.prototype);
    assert.deepEqual(Object.keys(redacted).sort(), ['__proto__', 'room_version']);
    assert.equal(JSON.stringify(redacted), '{"room_version":"11","__proto__":{"injected":true}}');
  });

  test('an inherited key name like "constructor" is not mistaken for an event type', () => {
    assert.deepEqual(redactContent('constructor', { a: 1 }, '10'), {});
    assert.deepEqual(redactContent('toString', { a: 1 }, '11'), {});
  });
});
