import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { closeWithSdkClients, createSdkClient, sdkSessionOf, startSdkClient } from './support/sdk.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { login, registerUser, type TestUser } from './support/users.ts';

type Event = { event_id: string; type: string; sender: string; state_key?: string; content: Record<string, any>; unsigned?: Record<string, any> };
type Reader = Pick<TestUser, 'api'>;

let txn = 0;
const room = (roomId: string) => `/_matrix/client/v3/rooms/${enc(roomId)}`;

async function createRoom(user: TestUser, body: Record<string, unknown> = {}): Promise<string> {
  const res = await user.api.post('/_matrix/client/v3/createRoom', body);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.room_id;
}

async function join(user: TestUser, roomId: string) {
  const res = await user.api.post(`/_matrix/client/v3/join/${enc(roomId)}`, {});
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

async function invite(user: TestUser, roomId: string, userId: string) {
  const res = await user.api.post(`${room(roomId)}/invite`, { user_id: userId });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

async function leave(user: TestUser, roomId: string) {
  const res = await user.api.post(`${room(roomId)}/leave`, {});
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

async function send(user: Reader, roomId: string, body: string, extra: Record<string, unknown> = {}, type = 'm.room.message'): Promise<string> {
  const res = await user.api.put(`${room(roomId)}/send/${enc(type)}/h${++txn}`, { msgtype: 'm.text', body, ...extra });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id;
}

async function setState(user: TestUser, roomId: string, type: string, content: Record<string, unknown>, stateKey = '') {
  const res = await user.api.put(`${room(roomId)}/state/${enc(type)}/${enc(stateKey)}`, content);
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

const setVisibility = (user: TestUser, roomId: string, visibility: string) => setState(user, roomId, 'm.room.history_visibility', { history_visibility: visibility });

async function messages(user: Reader, roomId: string, query: Record<string, unknown> = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries({ dir: 'b', ...query })) params.set(key, typeof value === 'object' ? JSON.stringify(value) : String(value));
  const res = await user.api.get(`${room(roomId)}/messages?${params}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as { chunk: Event[]; start: string; end?: string; state?: Event[] };
}

async function initialSync(user: Reader, filter?: unknown) {
  const res = await user.api.get(`/_matrix/client/v3/sync?timeout=0${filter ? `&filter=${enc(JSON.stringify(filter))}` : ''}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

const bodies = (events: Event[]) => events.filter((e) => e.type === 'm.room.message').map((e) => e.content.body as string);

/** Every event the user can page back to, newest first, `limit` at a time; fails on a page loop. */
async function pageBackAll(user: Reader, roomId: string, limit: number, from?: string) {
  const events: Event[] = [];
  let token = from;
  for (let pages = 1; ; pages++) {
    assert.ok(pages < 100, 'pagination never ends');
    const page = await messages(user, roomId, { limit, ...(token ? { from: token } : {}) });
    assert.ok(page.chunk.length <= limit);
    events.push(...page.chunk);
    if (page.end === undefined) return { events, pages };
    assert.notEqual(page.end, token, 'the end token moves');
    token = page.end;
  }
}

describe('room history', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => closeWithSdkClients(server));

  test('pages back through 30 messages in pages of 10 until there is no end token, with no duplicates or gaps', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice, { name: 'Ward 3' });
    const sent: string[] = [];
    for (let i = 1; i <= 30; i++) sent.push(await send(alice, roomId, `msg ${i}`));

    const first = await messages(alice, roomId, { limit: 10 });
    assert.equal(first.chunk.length, 10);
    assert.deepEqual(bodies(first.chunk), Array.from({ length: 10 }, (_, i) => `msg ${30 - i}`), 'newest first');
    assert.ok(first.end);

    const { events, pages } = await pageBackAll(alice, roomId, 10);
    const ids = events.map((e) => e.event_id);
    assert.equal(new Set(ids).size, ids.length, 'no event twice');
    assert.deepEqual(bodies(events), Array.from({ length: 30 }, (_, i) => `msg ${30 - i}`), 'every message, in order');
    assert.deepEqual(ids.slice(0, 30), [...sent].reverse(), 'the messages come before the room set-up');
    assert.equal(events[events.length - 1]!.type, 'm.room.create', 'back to the start of the room');
    assert.ok(pages >= 4);
    assert.equal(events[0]!.unsigned?.transaction_id !== undefined, true, 'the sending device sees its transaction ids');
  });

  test('pages forward from the start of the room and from an earlier token', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice);
    for (let i = 1; i <= 12; i++) await send(alice, roomId, `f${i}`);

    const all: Event[] = [];
    let from: string | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const page = await messages(alice, roomId, { dir: 'f', limit: 5, ...(from ? { from } : {}) });
      all.push(...page.chunk);
      if (!page.end) break;
      from = page.end;
    }
    assert.equal(all[0]!.type, 'm.room.create', 'oldest first');
    assert.deepEqual(bodies(all), Array.from({ length: 12 }, (_, i) => `f${i + 1}`));
    assert.equal(new Set(all.map((e) => e.event_id)).size, all.length);

    // Back 3 from the newest, then forward again from where that stopped: the same 3, oldest first.
    const back = await messages(alice, roomId, { limit: 3 });
    const forward = await messages(alice, roomId, { dir: 'f', from: back.end, limit: 10 });
    assert.deepEqual(bodies(forward.chunk), ['f10', 'f11', 'f12']);
    assert.equal(forward.end, undefined, 'nothing after the newest event');

    // `to` stops the walk.
    const bounded = await messages(alice, roomId, { limit: 10, to: back.end });
    assert.deepEqual(bodies(bounded.chunk), ['f12', 'f11', 'f10']);
    assert.equal(bounded.end, undefined);
  });

  test('the prev_batch of an initial /sync pages back from just before its timeline', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice);
    for (let i = 1; i <= 8; i++) await send(alice, roomId, `s${i}`);
    const synced = await initialSync(alice, { room: { timeline: { limit: 3 } } });
    const section = synced.rooms.join[roomId];
    assert.deepEqual(bodies(section.timeline.events), ['s6', 's7', 's8']);
    assert.equal(section.timeline.limited, true);

    const page = await messages(alice, roomId, { from: section.timeline.prev_batch, limit: 3 });
    assert.deepEqual(bodies(page.chunk), ['s5', 's4', 's3'], 'continues where the timeline starts, without overlap');
    assert.equal(page.start, section.timeline.prev_batch);
    // next_batch is a token too: paging back from it starts with the newest event.
    const fromNext = await messages(alice, roomId, { from: synced.next_batch, limit: 1 });
    assert.deepEqual(bodies(fromNext.chunk), ['s8']);
  });

  test('unsigned.transaction_id is only on the sending device\'s own events', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const roomId = await createRoom(alice, { invite: [bob.userId] });
    await join(bob, roomId);
    const eventId = await send(alice, roomId, 'hello');
    const own = (await messages(alice, roomId, { limit: 1 })).chunk[0]!;
    assert.equal(own.event_id, eventId);
    assert.match(own.unsigned?.transaction_id, /^h\d+$/);
    const otherDevice = await login(server, alice);
    assert.equal((await messages(otherDevice, roomId, { limit: 1 })).chunk[0]!.unsigned?.transaction_id, undefined);
    assert.equal((await messages(bob, roomId, { limit: 1 })).chunk[0]!.unsigned?.transaction_id, undefined);
  });

  test('filters /messages by type and sender, with wildcards, and lazy-loads the senders\' members', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const roomId = await createRoom(alice, { invite: [bob.userId] });
    await join(bob, roomId);
    await send(alice, roomId, 'a1');
    await send(bob, roomId, 'b1');
    await send(alice, roomId, 'a2', {}, 'org.example.note');
    await setState(alice, roomId, 'm.room.topic', { topic: 'Rounds' });

    const onlyMessages = await messages(alice, roomId, { filter: { types: ['m.room.message'] } });
    assert.deepEqual(onlyMessages.chunk.map((e) => e.type), ['m.room.message', 'm.room.message']);
    const roomTypes = await messages(alice, roomId, { filter: { types: ['m.room.*'], not_types: ['m.room.member'] }, limit: 50 });
    assert.ok(roomTypes.chunk.every((e) => e.type.startsWith('m.room.') && e.type !== 'm.room.member'));
    assert.ok(roomTypes.chunk.some((e) => e.type === 'm.room.topic'));
    const fromBob = await messages(alice, roomId, { filter: { senders: [bob.userId] } });
    assert.deepEqual(bodies(fromBob.chunk), ['b1']);
    const notAlice = await messages(alice, roomId, { filter: { not_senders: [alice.userId], types: ['m.room.message'] } });
    assert.deepEqual(bodies(notAlice.chunk), ['b1']);
    const otherRoom = await messages(alice, roomId, { filter: { not_rooms: [roomId] } });
    assert.deepEqual(otherRoom.chunk, []);
    assert.equal(otherRoom.end, undefined);

    const lazy = await messages(alice, roomId, { limit: 2, filter: { types: ['m.room.message'], lazy_load_members: true } });
    assert.deepEqual(bodies(lazy.chunk), ['b1', 'a1']);
    assert.deepEqual(lazy.state!.map((e) => [e.type, e.state_key]).sort(), [['m.room.member', alice.userId], ['m.room.member', bob.userId]].sort());
    assert.equal((await messages(alice, roomId, {})).state, undefined, 'no state without lazy loading');

    for (const query of [{ from: 'garbage' }, { to: 'x1' }, { filter: '{not json' }, { filter: { types: 'm.room.message' } }, { dir: 'sideways' }]) {
      const params = new URLSearchParams(Object.entries({ dir: 'b', ...query }).map(([k, v]): [string, string] => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]));
      const res = await alice.api.get(`${room(roomId)}/messages?${params}`);
      assert.equal(res.status, 400, JSON.stringify(query));
    }
    const badToken = await alice.api.get(`${room(roomId)}/messages?dir=b&from=nope`);
    assert.equal(badToken.body.errcode, 'M_INVALID_PARAM');
  });

  test('/context returns the event with events before and after, tokens to page on and the state', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice, { name: 'Handover' });
    const ids: string[] = [];
    for (let i = 1; i <= 9; i++) ids.push(await send(alice, roomId, `c${i}`));

    const res = await alice.api.get(`${room(roomId)}/context/${enc(ids[4]!)}?limit=4`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.event.event_id, ids[4]);
    assert.deepEqual(bodies(res.body.events_before), ['c4', 'c3']);
    assert.deepEqual(bodies(res.body.events_after), ['c6', 'c7']);
    assert.ok(res.body.state.some((e: Event) => e.type === 'm.room.name' && e.content.name === 'Handover'));
    assert.ok(res.body.state.some((e: Event) => e.type === 'm.room.create'));
    assert.deepEqual(bodies((await messages(alice, roomId, { from: res.body.start, limit: 2 })).chunk), ['c2', 'c1']);
    assert.deepEqual(bodies((await messages(alice, roomId, { from: res.body.end, dir: 'f', limit: 5 })).chunk), ['c8', 'c9']);

    const filtered = await alice.api.get(`${room(roomId)}/context/${enc(ids[0]!)}?limit=2&filter=${enc(JSON.stringify({ types: ['m.room.message'] }))}`);
    assert.deepEqual(bodies(filtered.body.events_before), []);
    assert.deepEqual(bodies(filtered.body.events_after), ['c2']);
    assert.ok(filtered.body.state.every((e: Event) => e.type === 'm.room.message'), 'the filter applies to the state too');

    const lazy = await alice.api.get(`${room(roomId)}/context/${enc(ids[8]!)}?limit=2&filter=${enc(JSON.stringify({ lazy_load_members: true }))}`);
    assert.deepEqual(lazy.body.state.filter((e: Event) => e.type === 'm.room.member').map((e: Event) => e.state_key), [alice.userId]);

    const unknown = await alice.api.get(`${room(roomId)}/context/${enc('$nosuchevent')}`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errcode, 'M_NOT_FOUND');
  });

  test('/event returns a visible event and 404 for unknown events and events of other rooms', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice);
    const otherRoom = await createRoom(alice);
    const eventId = await send(alice, roomId, 'one');
    const elsewhere = await send(alice, otherRoom, 'two');

    const res = await alice.api.get(`${room(roomId)}/event/${enc(eventId)}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.event_id, eventId);
    assert.equal(res.body.room_id, roomId);
    assert.equal(res.body.content.body, 'one');
    for (const id of ['$nosuchevent', elsewhere]) {
      const missing = await alice.api.get(`${room(roomId)}/event/${enc(id)}`);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.errcode, 'M_NOT_FOUND');
    }
    const outsider = await registerUser(server);
    const forbidden = await outsider.api.get(`${room(roomId)}/event/${enc(eventId)}`);
    assert.equal(forbidden.status, 403, 'an outsider learns nothing about the event');
    assert.equal(forbidden.body.errcode, 'M_FORBIDDEN');
    assert.equal((await outsider.api.get(`${room(roomId)}/messages?dir=b`)).status, 403);
  });

  test('reads the whole state and single state events; absent state is 404', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice, { name: 'Pharmacy', topic: 'Stock' });

    const state = await alice.api.get(`${room(roomId)}/state`);
    assert.equal(state.status, 200);
    const types = state.body.map((e: Event) => e.type);
    for (const type of ['m.room.create', 'm.room.member', 'm.room.power_levels', 'm.room.join_rules', 'm.room.history_visibility', 'm.room.name', 'm.room.topic']) {
      assert.ok(types.includes(type), type);
    }
    assert.deepEqual((await alice.api.get(`${room(roomId)}/state/m.room.name`)).body, { name: 'Pharmacy' });
    assert.deepEqual((await alice.api.get(`${room(roomId)}/state/m.room.name/`)).body, { name: 'Pharmacy' });
    assert.equal((await alice.api.get(`${room(roomId)}/state/m.room.member/${enc(alice.userId)}`)).body.membership, 'join');
    const asEvent = await alice.api.get(`${room(roomId)}/state/m.room.topic/?format=event`);
    assert.equal(asEvent.body.type, 'm.room.topic');
    assert.equal(asEvent.body.content.topic, 'Stock');
    for (const path of ['state/m.room.avatar', `state/m.room.member/${enc('@nobody:test.local')}`]) {
      const res = await alice.api.get(`${room(roomId)}/${path}`);
      assert.equal(res.status, 404, path);
      assert.equal(res.body.errcode, 'M_NOT_FOUND');
    }
    const outsider = await registerUser(server);
    assert.equal((await outsider.api.get(`${room(roomId)}/state`)).status, 403);
    assert.equal((await outsider.api.get(`${room(roomId)}/state/m.room.name`)).status, 403);
  });

  test('someone who left reads the state as it was when they left', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const roomId = await createRoom(alice, { name: 'Before', invite: [bob.userId] });
    await join(bob, roomId);
    await leave(bob, roomId);
    await setState(alice, roomId, 'm.room.name', { name: 'After' });
    assert.deepEqual((await bob.api.get(`${room(roomId)}/state/m.room.name`)).body, { name: 'Before' });
    const state = (await bob.api.get(`${room(roomId)}/state`)).body as Event[];
    assert.equal(state.find((e) => e.type === 'm.room.name')!.content.name, 'Before');
    assert.equal(state.find((e) => e.type === 'm.room.member' && e.state_key === bob.userId)!.content.membership, 'leave');
    const joined = await bob.api.get(`${room(roomId)}/joined_members`);
    assert.equal(joined.status, 403, 'joined_members is for members only');
  });

  test('lists members by membership, and as they were at a sync token', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const carol = await registerUser(server);
    const dan = await registerUser(server);
    const roomId = await createRoom(alice, { invite: [bob.userId, carol.userId, dan.userId] });
    await join(bob, roomId);
    await join(dan, roomId);
    await leave(dan, roomId);
    const before = (await initialSync(alice)).next_batch;
    await join(carol, roomId);

    const membersOf = async (query: string) => {
      const res = await alice.api.get(`${room(roomId)}/members${query}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return Object.fromEntries((res.body.chunk as Event[]).map((e) => [e.state_key, e.content.membership]));
    };
    assert.deepEqual(await membersOf(''), { [alice.userId]: 'join', [bob.userId]: 'join', [carol.userId]: 'join', [dan.userId]: 'leave' });
    assert.deepEqual(await membersOf('?membership=join'), { [alice.userId]: 'join', [bob.userId]: 'join', [carol.userId]: 'join' });
    assert.deepEqual(await membersOf('?not_membership=join'), { [dan.userId]: 'leave' });
    assert.deepEqual(await membersOf(`?at=${enc(before)}`), { [alice.userId]: 'join', [bob.userId]: 'join', [carol.userId]: 'invite', [dan.userId]: 'leave' });
    assert.deepEqual(await membersOf(`?at=${enc(before)}&not_membership=leave`), { [alice.userId]: 'join', [bob.userId]: 'join', [carol.userId]: 'invite' });
    assert.deepEqual(await membersOf(`?at=${enc(before)}&membership=invite`), { [carol.userId]: 'invite' });
    assert.equal((await alice.api.get(`${room(roomId)}/members?at=yesterday`)).status, 400);
    assert.equal((await alice.api.get(`${room(roomId)}/members?membership=maybe`)).status, 400);
    const outsider = await registerUser(server);
    assert.equal((await outsider.api.get(`${room(roomId)}/members`)).status, 403);
  });

  test('joined_members maps joined users to their display names', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    await alice.api.put(`/_matrix/client/v3/profile/${enc(alice.userId)}/displayname`, { displayname: 'Dr Alice' });
    const roomId = await createRoom(alice, { invite: [bob.userId] });
    const res = await alice.api.get(`${room(roomId)}/joined_members`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { joined: { [alice.userId]: { display_name: 'Dr Alice' } } }, 'invited users are not listed');
    await join(bob, roomId);
    assert.deepEqual(Object.keys((await bob.api.get(`${room(roomId)}/joined_members`)).body.joined).sort(), [alice.userId, bob.userId].sort());
    const outsider = await registerUser(server);
    assert.equal((await outsider.api.get(`${room(roomId)}/joined_members`)).status, 403);
  });

  test('relations lists annotations and references, by type, newest first, a page at a time', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const roomId = await createRoom(alice, { invite: [bob.userId] });
    await join(bob, roomId);
    const parent = await send(alice, roomId, 'BP 120/80');
    const like = (await bob.api.put(`${room(roomId)}/send/m.reaction/r${++txn}`, { 'm.relates_to': { rel_type: 'm.annotation', event_id: parent, key: '👍' } })).body.event_id;
    const reference = await send(bob, roomId, 'see above', { 'm.relates_to': { rel_type: 'm.reference', event_id: parent } });
    const ack = (await alice.api.put(`${room(roomId)}/send/m.reaction/r${++txn}`, { 'm.relates_to': { rel_type: 'm.annotation', event_id: parent, key: '✅' } })).body.event_id;
    await send(alice, roomId, 'unrelated');

    const rel = (suffix: string, query = '') => alice.api.get(`/_matrix/client/v1/rooms/${enc(roomId)}/relations/${enc(parent)}${suffix}${query}`);
    const all = await rel('');
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.deepEqual(all.body.chunk.map((e: Event) => e.event_id), [ack, reference, like]);
    assert.equal(all.body.next_batch, undefined);
    assert.deepEqual((await rel('/m.annotation')).body.chunk.map((e: Event) => e.event_id), [ack, like]);
    assert.deepEqual((await rel('/m.reference/m.room.message')).body.chunk.map((e: Event) => e.event_id), [reference]);
    assert.deepEqual((await rel('/m.annotation/m.room.message')).body.chunk, []);

    const first = await rel('', '?limit=2');
    assert.deepEqual(first.body.chunk.map((e: Event) => e.event_id), [ack, reference]);
    assert.ok(first.body.next_batch);
    const second = await rel('', `?limit=2&from=${enc(first.body.next_batch)}`);
    assert.deepEqual(second.body.chunk.map((e: Event) => e.event_id), [like]);
    assert.equal(second.body.next_batch, undefined);
    const forward = await rel('', '?dir=f&limit=2');
    assert.deepEqual(forward.body.chunk.map((e: Event) => e.event_id), [like, reference]);
    const rest = await rel('', `?dir=f&limit=2&from=${enc(forward.body.next_batch)}`);
    assert.deepEqual(rest.body.chunk.map((e: Event) => e.event_id), [ack]);

    assert.equal((await alice.api.get(`/_matrix/client/v1/rooms/${enc(roomId)}/relations/${enc('$nosuchevent')}`)).status, 404);

    // A redacted reaction has lost its relation.
    const redacted = await bob.api.put(`${room(roomId)}/redact/${enc(like)}/x${++txn}`, {});
    assert.equal(redacted.status, 200, JSON.stringify(redacted.body));
    assert.deepEqual((await rel('/m.annotation')).body.chunk.map((e: Event) => e.event_id), [ack]);
  });

  test('matrix-js-sdk scrolls back to the start of a room and lazy-loads its members', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const roomId = await createRoom(alice, { name: 'SDK ward', invite: [bob.userId] });
    await join(bob, roomId);
    for (let i = 1; i <= 25; i++) await send(i % 2 ? alice : bob, roomId, `sdk ${i}`);

    const client = await createSdkClient(server.url, sdkSessionOf(alice));
    await startSdkClient(client, { initialSyncLimit: 5, lazyLoadMembers: true });
    const sdkRoom = client.getRoom(roomId)!;
    assert.ok(sdkRoom, 'the room came down /sync');
    for (let i = 0; i < 20 && sdkRoom.oldState.paginationToken !== null; i++) await client.scrollback(sdkRoom, 10);
    assert.equal(sdkRoom.oldState.paginationToken, null, 'the SDK saw the start of the room');
    const timeline = sdkRoom.getLiveTimeline().getEvents();
    assert.equal(timeline[0]!.getType(), 'm.room.create');
    const texts = timeline.filter((e) => e.getType() === 'm.room.message').map((e) => e.getContent().body);
    assert.deepEqual(texts, Array.from({ length: 25 }, (_, i) => `sdk ${i + 1}`));
    assert.equal(new Set(timeline.map((e) => e.getId())).size, timeline.length, 'no event twice');

    await sdkRoom.loadMembersIfNeeded();
    assert.deepEqual(sdkRoom.getJoinedMembers().map((m) => m.userId).sort(), [alice.userId, bob.userId].sort());
  });

  describe('history visibility', () => {
    test('with the default "invited", a later invitee sees nothing from before their invite on any read path', async () => {
      const alice = await registerUser(server);
      const bob = await registerUser(server);
      const roomId = await createRoom(alice);
      const early = await send(alice, roomId, 'before invite 1');
      await send(alice, roomId, 'before invite 2');
      await invite(alice, roomId, bob.userId);
      const whileInvited = await send(alice, roomId, 'while invited');
      await join(bob, roomId);
      const late = await send(alice, roomId, 'after join');

      const { events } = await pageBackAll(bob, roomId, 2);
      assert.deepEqual(bodies(events), ['after join', 'while invited']);
      assert.ok(!events.some((e) => e.event_id === early));
      assert.deepEqual(bodies((await messages(bob, roomId, { dir: 'f', limit: 50 })).chunk), ['while invited', 'after join']);
      assert.deepEqual(bodies((await messages(alice, roomId, { limit: 50 })).chunk), ['after join', 'while invited', 'before invite 2', 'before invite 1']);

      const hidden = await bob.api.get(`${room(roomId)}/event/${enc(early)}`);
      assert.equal(hidden.status, 404, 'an invisible event is "not found", not "forbidden"');
      assert.equal(hidden.body.errcode, 'M_NOT_FOUND');
      assert.equal((await bob.api.get(`${room(roomId)}/context/${enc(early)}`)).status, 404);
      assert.equal((await bob.api.get(`${room(roomId)}/event/${enc(late)}`)).status, 200);
      const context = await bob.api.get(`${room(roomId)}/context/${enc(whileInvited)}?limit=20`);
      assert.equal(context.status, 200);
      assert.deepEqual(bodies(context.body.events_before), [], 'nothing from before the invite');
      assert.deepEqual(bodies(context.body.events_after), ['after join']);

      const synced = await initialSync(bob);
      const timeline = synced.rooms.join[roomId].timeline.events as Event[];
      assert.ok(!bodies(timeline).some((b) => b.startsWith('before invite')));
      assert.ok(bodies(timeline).includes('after join'));
    });

    test('with "shared", someone who joins later reads the earlier history', async () => {
      const alice = await registerUser(server);
      const bob = await registerUser(server);
      const roomId = await createRoom(alice);
      await setVisibility(alice, roomId, 'shared');
      const early = await send(alice, roomId, 'shared 1');
      await send(alice, roomId, 'shared 2');
      await invite(alice, roomId, bob.userId);
      await join(bob, roomId);
      assert.deepEqual(bodies((await messages(bob, roomId, { limit: 50 })).chunk), ['shared 2', 'shared 1']);
      assert.equal((await bob.api.get(`${room(roomId)}/event/${enc(early)}`)).status, 200);
      assert.equal((await bob.api.get(`${room(roomId)}/context/${enc(early)}`)).status, 200);
      assert.ok(bodies((await initialSync(bob)).rooms.join[roomId].timeline.events).includes('shared 2'));
    });

    test('with "joined", events sent while the user was only invited stay hidden', async () => {
      const alice = await registerUser(server);
      const bob = await registerUser(server);
      const roomId = await createRoom(alice);
      await setVisibility(alice, roomId, 'joined');
      await invite(alice, roomId, bob.userId);
      const whileInvited = await send(alice, roomId, 'while invited');
      await join(bob, roomId);
      await send(alice, roomId, 'after join');
      assert.deepEqual(bodies((await pageBackAll(bob, roomId, 3)).events), ['after join']);
      assert.equal((await bob.api.get(`${room(roomId)}/event/${enc(whileInvited)}`)).status, 404);
      assert.equal((await bob.api.get(`${room(roomId)}/context/${enc(whileInvited)}`)).status, 404);
      assert.deepEqual(bodies((await initialSync(bob)).rooms.join[roomId].timeline.events), ['after join']);
    });

    test('someone who left sees nothing sent after they left', async () => {
      const alice = await registerUser(server);
      const bob = await registerUser(server);
      const roomId = await createRoom(alice, { invite: [bob.userId] });
      await join(bob, roomId);
      const seen = await send(alice, roomId, 'while joined');
      await leave(bob, roomId);
      const unseen = await send(alice, roomId, 'after leaving');
      await send(alice, roomId, 'later still');

      assert.deepEqual(bodies((await pageBackAll(bob, roomId, 2)).events), ['while joined']);
      assert.deepEqual(bodies((await messages(bob, roomId, { dir: 'f', limit: 50 })).chunk), ['while joined']);
      assert.equal((await bob.api.get(`${room(roomId)}/event/${enc(seen)}`)).status, 200);
      assert.equal((await bob.api.get(`${room(roomId)}/event/${enc(unseen)}`)).status, 404);
      assert.equal((await bob.api.get(`${room(roomId)}/context/${enc(unseen)}`)).status, 404);
      const context = await bob.api.get(`${room(roomId)}/context/${enc(seen)}?limit=10`);
      assert.ok(!bodies(context.body.events_after).includes('after leaving'));
      const members = await bob.api.get(`${room(roomId)}/members`);
      assert.equal((members.body.chunk as Event[]).find((e) => e.state_key === bob.userId)!.content.membership, 'leave');

      const relations = await bob.api.get(`/_matrix/client/v1/rooms/${enc(roomId)}/relations/${enc(seen)}`);
      assert.equal(relations.status, 200);
      await send(alice, roomId, 'reply', { 'm.relates_to': { rel_type: 'm.reference', event_id: seen } });
      assert.deepEqual((await bob.api.get(`/_matrix/client/v1/rooms/${enc(roomId)}/relations/${enc(seen)}`)).body.chunk, []);
    });
  });
});
