import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { createRoom, invite, join, send, setState, sync } from './support/rooms.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { registerUser } from './support/users.ts';

const stateOf = (body: any, roomId: string) => {
  const room = body.rooms.join[roomId];
  return [...room.state.events, ...room.timeline.events].filter((e: any) => e.state_key !== undefined);
};

describe('creating rooms', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('a private room starts with the creator joined, invited-only history and power 100', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice, { name: 'Ward 7 handover', topic: 'Night shift' });
    assert.match(roomId, /^![A-Za-z0-9]+:test\.local$/);
    const body = await sync(alice, { filter: { room: { timeline: { limit: 50 } } } });
    const state = stateOf(body, roomId);
    const find = (type: string, key = '') => state.find((e: any) => e.type === type && e.state_key === key);
    assert.equal(find('m.room.create').content.room_version, '10');
    assert.equal(find('m.room.member', alice.userId).content.membership, 'join');
    assert.equal(find('m.room.power_levels').content.users[alice.userId], 100);
    assert.equal(find('m.room.join_rules').content.join_rule, 'invite');
    assert.equal(find('m.room.history_visibility').content.history_visibility, 'invited');
    assert.equal(find('m.room.name').content.name, 'Ward 7 handover');
    assert.equal(find('m.room.topic').content.topic, 'Night shift');
    const joined = await alice.api.get('/_matrix/client/v3/joined_rooms');
    assert.deepEqual(joined.body.joined_rooms, [roomId]);
  });

  test('a public room is joinable by anyone and keeps shared history', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, roomId);
    const state = stateOf(await sync(bob), roomId);
    assert.equal(state.find((e: any) => e.type === 'm.room.join_rules').content.join_rule, 'public');
    assert.equal(state.find((e: any) => e.type === 'm.room.history_visibility').content.history_visibility, 'shared');
  });

  test('room version 11, initial_state, power_level_content_override and invites are honoured', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const roomId = await createRoom(alice, {
      room_version: '11',
      invite: [bob.userId],
      is_direct: true,
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
      power_level_content_override: { events_default: 10 },
    });
    const state = stateOf(await sync(alice, { filter: { room: { timeline: { limit: 50 } } } }), roomId);
    assert.equal(state.find((e: any) => e.type === 'm.room.create').content.room_version, '11');
    assert.equal(state.find((e: any) => e.type === 'm.room.create').content.creator, undefined);
    assert.equal(state.find((e: any) => e.type === 'm.room.encryption').content.algorithm, 'm.megolm.v1.aes-sha2');
    assert.equal(state.find((e: any) => e.type === 'm.room.power_levels').content.events_default, 10);
    const inviteEvent = state.find((e: any) => e.type === 'm.room.member' && e.state_key === bob.userId);
    assert.equal(inviteEvent.content.membership, 'invite');
    assert.equal(inviteEvent.content.is_direct, true);
    const bobView = await sync(bob);
    const inviteState = bobView.rooms.invite[roomId].invite_state.events;
    assert.ok(inviteState.some((e: any) => e.type === 'm.room.member' && e.state_key === bob.userId && e.content.membership === 'invite'));
    assert.ok(inviteState.some((e: any) => e.type === 'm.room.encryption'));
  });

  test('bad requests are refused clearly', async () => {
    const alice = await registerUser(server);
    const version = await alice.api.post('/_matrix/client/v3/createRoom', { room_version: '1' });
    assert.equal(version.status, 400);
    assert.equal(version.body.errcode, 'M_UNSUPPORTED_ROOM_VERSION');
    const remote = await alice.api.post('/_matrix/client/v3/createRoom', { invite: ['@someone:elsewhere.org'] });
    assert.equal(remote.status, 403);
    const unknown = await alice.api.post('/_matrix/client/v3/createRoom', { invite: ['@nobody-here:test.local'] });
    assert.equal(unknown.status, 404);
    const worldReadable = await alice.api.post('/_matrix/client/v3/createRoom', {
      initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'world_readable' } }],
    });
    assert.equal(worldReadable.status, 403);
    const preset = await alice.api.post('/_matrix/client/v3/createRoom', { preset: 'party' });
    assert.equal(preset.status, 400);
    assert.equal(preset.body.errcode, 'M_BAD_JSON');
  });

  test('a room alias that is taken is refused with M_ROOM_IN_USE and no room is made', async () => {
    const alice = await registerUser(server);
    const name = `ward${Date.now()}`;
    await createRoom(alice, { room_alias_name: name });
    const res = await alice.api.post('/_matrix/client/v3/createRoom', { room_alias_name: name });
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_ROOM_IN_USE');
    assert.equal((await alice.api.get('/_matrix/client/v3/joined_rooms')).body.joined_rooms.length, 1);
  });
});

describe('membership and the authorization rules', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('an uninvited user cannot join a private room; an invited one can', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const mallory = await registerUser(server);
    const roomId = await createRoom(alice);
    const refused = await mallory.api.post(`/_matrix/client/v3/join/${enc(roomId)}`, {});
    assert.equal(refused.status, 403);
    assert.equal(refused.body.errcode, 'M_FORBIDDEN');
    await invite(alice, roomId, bob.userId);
    await join(bob, roomId);
    assert.deepEqual((await bob.api.get('/_matrix/client/v3/joined_rooms')).body.joined_rooms, [roomId]);
  });

  test('joining an unknown room is 404; joining twice is harmless', async () => {
    const alice = await registerUser(server);
    const unknown = await alice.api.post(`/_matrix/client/v3/join/${enc('!nothere:test.local')}`, {});
    assert.equal(unknown.status, 404);
    const roomId = await createRoom(alice);
    await join(alice, roomId);
  });

  test('non-members cannot send, read state into, or invite to a room', async () => {
    const alice = await registerUser(server);
    const mallory = await registerUser(server);
    const roomId = await createRoom(alice);
    const sendRes = await mallory.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/x1`, { body: 'hi' });
    assert.equal(sendRes.status, 403);
    const inviteRes = await mallory.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: mallory.userId });
    assert.equal(inviteRes.status, 403);
    const stateRes = await setState(mallory, roomId, 'm.room.name', { name: 'hijacked' });
    assert.equal(stateRes.status, 403);
  });

  test('power levels decide who may change state and kick', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const roomId = await createRoom(alice, { invite: [bob.userId] });
    await join(bob, roomId);
    const bobRename = await setState(bob, roomId, 'm.room.name', { name: 'Bob was here' });
    assert.equal(bobRename.status, 403);
    const bobKick = await bob.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/kick`, { user_id: alice.userId });
    assert.equal(bobKick.status, 403);
    const rename = await setState(alice, roomId, 'm.room.name', { name: 'Cardiology consults' });
    assert.equal(rename.status, 200);
    const kick = await alice.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/kick`, { user_id: bob.userId, reason: 'Shift over' });
    assert.equal(kick.status, 200);
    assert.deepEqual((await bob.api.get('/_matrix/client/v3/joined_rooms')).body.joined_rooms, []);
  });

  test('a banned user cannot rejoin until unbanned and re-invited', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, roomId);
    assert.equal((await alice.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/ban`, { user_id: bob.userId })).status, 200);
    assert.equal((await bob.api.post(`/_matrix/client/v3/join/${enc(roomId)}`, {})).status, 403);
    assert.equal((await alice.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/unban`, { user_id: bob.userId })).status, 200);
    await join(bob, roomId);
    const notBanned = await alice.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/unban`, { user_id: bob.userId });
    assert.equal(notBanned.status, 403);
  });

  test('leaving, then forgetting, removes the room from the user\'s sync', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const roomId = await createRoom(alice, { invite: [bob.userId] });
    await join(bob, roomId);
    const early = await bob.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/forget`, {});
    assert.equal(early.status, 400, 'cannot forget a room one is still in');
    const before = await sync(bob);
    assert.equal((await bob.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/leave`, {})).status, 200);
    const afterLeave = await sync(bob, { since: before.next_batch });
    assert.ok(afterLeave.rooms.leave[roomId], 'the room shows up under leave');
    assert.ok(afterLeave.rooms.leave[roomId].timeline.events.some((e: any) => e.type === 'm.room.member' && e.content.membership === 'leave'));
    assert.equal((await bob.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/forget`, {})).status, 200);
    const initial = await sync(bob, { filter: { room: { include_leave: true } } });
    assert.equal(initial.rooms.leave[roomId], undefined);
  });

  test('a rejected invite shows up as a left room', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const roomId = await createRoom(alice, { invite: [bob.userId] });
    const first = await sync(bob);
    assert.ok(first.rooms.invite[roomId]);
    await bob.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/leave`, {});
    const next = await sync(bob, { since: first.next_batch });
    assert.ok(next.rooms.leave[roomId]);
  });
});

describe('sending, state and redaction', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('a retried send with the same transaction id is the same event, once', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice);
    const path = `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/retry-1`;
    const results = await Promise.all([1, 2, 3].map(() => alice.api.put(path, { msgtype: 'm.text', body: 'Potassium 6.1, repeat?' })));
    assert.deepEqual(new Set(results.map((r) => r.status)), new Set([200]));
    assert.equal(new Set(results.map((r) => r.body.event_id)).size, 1);
    const body = await sync(alice, { filter: { room: { timeline: { limit: 50 } } } });
    const copies = body.rooms.join[roomId].timeline.events.filter((e: any) => e.content.body === 'Potassium 6.1, repeat?');
    assert.equal(copies.length, 1);
    assert.equal(copies[0].unsigned.transaction_id, 'retry-1');
  });

  test('the same transaction id from another device is a new event', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice);
    const first = await send(alice, roomId, 'one', 'shared-txn');
    const { login } = await import('./support/users.ts');
    const other = await login(server, alice);
    const second = await other.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/shared-txn`, { body: 'two' });
    assert.notEqual(second.body.event_id, first);
  });

  test('events are signed, hashed and have reference-hash ids', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice);
    const eventId = await send(alice, roomId, 'hello');
    assert.match(eventId, /^\$[A-Za-z0-9_-]{43}$/);
    const row = await server.storage.events.get(eventId);
    const pdu = JSON.parse(row!.json);
    assert.ok(pdu.hashes.sha256);
    assert.ok(pdu.signatures['test.local']);
    assert.equal(pdu.prev_events.length, 1);
    assert.ok(pdu.auth_events.length >= 3);
    const { computeEventId } = await import('../src/crypto/event-hashing.ts');
    assert.equal(computeEventId(pdu, '10'), eventId);
  });

  test('setting state to what it already is makes no new event', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice);
    const first = await setState(alice, roomId, 'm.room.topic', { topic: 'Handover' });
    const second = await setState(alice, roomId, 'm.room.topic', { topic: 'Handover' });
    assert.equal(first.body.event_id, second.body.event_id);
    const stateNoKey = await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.topic`, { topic: 'New' });
    assert.equal(stateNoKey.status, 200);
    assert.notEqual(stateNoKey.body.event_id, first.body.event_id);
  });

  test('a canonical alias must point at the room', async () => {
    const alice = await registerUser(server);
    const name = `consults${Date.now()}`;
    const roomId = await createRoom(alice, { room_alias_name: name });
    const other = await createRoom(alice, { room_alias_name: `${name}x` });
    const ok = await setState(alice, roomId, 'm.room.canonical_alias', { alias: `#${name}:test.local` });
    assert.equal(ok.status, 200);
    const foreign = await setState(alice, roomId, 'm.room.canonical_alias', { alias: `#${name}:test.local`, alt_aliases: [`#${name}x:test.local`] });
    assert.equal(foreign.status, 400);
    assert.equal(foreign.body.errcode, 'M_BAD_ALIAS');
    const unknown = await setState(alice, other, 'm.room.canonical_alias', { alias: '#nobody-made-this:test.local' });
    assert.equal(unknown.body.errcode, 'M_BAD_ALIAS');
  });

  test('world-readable history and membership through the state API are refused', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice);
    assert.equal((await setState(alice, roomId, 'm.room.history_visibility', { history_visibility: 'world_readable' })).status, 403);
    assert.equal((await setState(alice, roomId, 'm.room.member', { membership: 'join' }, alice.userId)).status, 403);
  });

  test('content without a canonical JSON form (a float) is 400 M_BAD_JSON, not a 500', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice);
    const res = await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/float`, { body: 'temp', value: 37.5 });
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_BAD_JSON');
    const state = await setState(alice, roomId, 'org.example.vitals', { spo2: 0.97 });
    assert.equal(state.status, 400);
    const create = await alice.api.post('/_matrix/client/v3/createRoom', { creation_content: { weight: 1.5 } });
    assert.equal(create.status, 400);
    assert.equal((await alice.api.get('/_matrix/client/v3/joined_rooms')).body.joined_rooms.length, 1, 'the failed create left no room behind');
  });

  test('an oversized event is 413 M_TOO_LARGE', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice);
    const res = await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/big`, { body: 'x'.repeat(70_000) });
    assert.equal(res.status, 413);
    assert.equal(res.body.errcode, 'M_TOO_LARGE');
  });

  test('redaction removes the content for everyone, keeps the fact, and carries top-level redacts', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const roomId = await createRoom(alice, { invite: [bob.userId] });
    await join(bob, roomId);
    const before = await sync(bob);
    const eventId = await send(alice, roomId, 'Wrong patient — ignore');
    const redaction = await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(eventId)}/r1`, { reason: 'wrong room' });
    assert.equal(redaction.status, 200);
    const again = await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(eventId)}/r1`, { reason: 'wrong room' });
    assert.equal(again.body.event_id, redaction.body.event_id, 'redaction is idempotent per transaction');
    const stored = JSON.parse((await server.storage.events.get(eventId))!.json);
    assert.deepEqual(stored.content, {});
    const bobView = await sync(bob, { since: before.next_batch });
    const events = bobView.rooms.join[roomId].timeline.events;
    const original = events.find((e: any) => e.event_id === eventId);
    assert.deepEqual(original.content, {});
    assert.equal(original.unsigned.redacted_because.event_id, redaction.body.event_id);
    const redactionEvent = events.find((e: any) => e.event_id === redaction.body.event_id);
    assert.equal(redactionEvent.redacts, eventId);
    assert.equal(redactionEvent.content.reason, 'wrong room');
  });

  test('only the sender or a moderator may redact; unknown events are 404', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const roomId = await createRoom(alice, { invite: [bob.userId] });
    await join(bob, roomId);
    const aliceMsg = await send(alice, roomId, 'from alice');
    const bobMsg = await send(bob, roomId, 'from bob');
    assert.equal((await bob.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(aliceMsg)}/r2`, {})).status, 403);
    assert.equal((await bob.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(bobMsg)}/r3`, {})).status, 200);
    assert.equal((await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(bobMsg)}/r4`, {})).status, 200);
    const unknown = await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc('$nope')}/r5`, {});
    assert.equal(unknown.status, 404);
  });
});

describe('when the organisation requires end-to-end encryption', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ room_encryption: 'required' });
  });
  after(() => server.close());

  const encrypted = [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }];

  test('a room without encryption cannot be created; an encrypted one can', async () => {
    const alice = await registerUser(server);
    const plain = await alice.api.post('/_matrix/client/v3/createRoom', { name: 'Plain' });
    assert.equal(plain.status, 403);
    assert.equal(plain.body.errcode, 'M_FORBIDDEN');
    assert.match(plain.body.error, /encryption/);
    assert.deepEqual((await alice.api.get('/_matrix/client/v3/joined_rooms')).body.joined_rooms, []);
    const weak = await alice.api.post('/_matrix/client/v3/createRoom', { initial_state: [{ type: 'm.room.encryption', content: { algorithm: 'rot13' } }] });
    assert.equal(weak.status, 403);
    await createRoom(alice, { initial_state: encrypted });
  });

  test('plaintext messages are refused in an encrypted room; encrypted ones pass', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice, { initial_state: encrypted });
    const plaintext = await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/p1`, { msgtype: 'm.text', body: 'Patient name in clear' });
    assert.equal(plaintext.status, 403);
    assert.equal(plaintext.body.errcode, 'M_FORBIDDEN');
    const ciphertext = await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.encrypted/c1`, {
      algorithm: 'm.megolm.v1.aes-sha2',
      ciphertext: 'AwgAEn…',
      sender_key: 'x',
      session_id: 'y',
      device_id: 'Z',
    });
    assert.equal(ciphertext.status, 200);
    const stored = await server.storage.events.page(roomId, Number.MAX_SAFE_INTEGER, 'b', 50);
    assert.ok(!stored.some((r) => r.json.includes('Patient name in clear')));
  });
});
