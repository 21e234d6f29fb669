import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { createRoom, invite, join, roomOfTwo, send, setState, sync, timelineBodies } from './support/rooms.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { login, registerUser } from './support/users.ts';

describe('/sync', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('an initial sync has every slot clients rely on, and the default push rules', async () => {
    const alice = await registerUser(server);
    const body = await sync(alice);
    assert.match(body.next_batch, /^s\d+$/);
    assert.deepEqual(body.rooms, { join: {}, invite: {}, leave: {}, knock: {} });
    assert.deepEqual(body.device_lists, { changed: [], left: [] });
    assert.deepEqual(body.to_device, { events: [] });
    assert.ok('device_one_time_keys_count' in body);
    assert.deepEqual(body.device_unused_fallback_key_types, []);
    const rules = body.account_data.events.find((e: any) => e.type === 'm.push_rules');
    assert.ok(rules.content.global.override.some((r: any) => r.rule_id === '.m.rule.master'));
  });

  test('a long-poll wakes as soon as a message for the user is committed', async () => {
    const { alice, bob, roomId } = await roomOfTwo(server);
    const first = await sync(alice);
    const started = Date.now();
    const waiting = sync(alice, { since: first.next_batch, timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    await send(bob, roomId, 'BP 80/50, please come');
    const woke = await waiting;
    const elapsed = Date.now() - started;
    assert.deepEqual(timelineBodies(woke.rooms.join[roomId]), ['BP 80/50, please come']);
    assert.ok(elapsed < 2_000, `woke after ${elapsed} ms`);
    assert.notEqual(woke.next_batch, first.next_batch);
  });

  test('a long-poll whose client goes away stops waiting at once (no waiter left behind)', async () => {
    const { alice } = await roomOfTwo(server);
    const first = await sync(alice);
    const notifier = server.services.notifier;
    const before = notifier.waiting;
    const { port, hostname } = new URL(server.url);
    const socket = connect({ port: Number(port), host: hostname });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET /_matrix/client/v3/sync?timeout=30000&since=${first.next_batch} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${alice.accessToken}\r\n\r\n`);
    const until = async (condition: () => boolean) => {
      for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
      return condition();
    };
    assert.ok(await until(() => notifier.waiting === before + 1), 'the long-poll waits');
    socket.destroy();
    assert.ok(await until(() => notifier.waiting === before), `still ${notifier.waiting - before} waiting after the client left`);
  });

  test('a long-poll with nothing new returns empty at its timeout, and is not woken by other people\'s rooms', async () => {
    const { alice } = await roomOfTwo(server);
    const other = await roomOfTwo(server);
    const first = await sync(alice);
    const started = Date.now();
    const waiting = sync(alice, { since: first.next_batch, timeout: 600 });
    await send(other.alice, other.roomId, 'not for alice');
    const body = await waiting;
    assert.ok(Date.now() - started >= 550, 'waited for the timeout');
    assert.deepEqual(body.rooms.join, {});
  });

  test('the sender\'s own device sees its transaction id; other devices and users do not', async () => {
    const { alice, bob, roomId } = await roomOfTwo(server);
    const phone = await login(server, alice);
    const first = await sync(alice);
    await send(alice, roomId, 'mine', 'txn-42');
    const own = (await sync(alice, { since: first.next_batch })).rooms.join[roomId].timeline.events[0];
    assert.equal(own.unsigned.transaction_id, 'txn-42');
    const phoneView = (await sync({ ...alice, api: phone.api }, { since: first.next_batch })).rooms.join[roomId].timeline.events[0];
    assert.equal(phoneView.unsigned.transaction_id, undefined);
    const bobView = (await sync(bob, { since: first.next_batch })).rooms.join[roomId].timeline.events[0];
    assert.equal(bobView.unsigned.transaction_id, undefined);
  });

  test('a gap larger than the limit is marked limited, with state changed in the gap and a usable prev_batch', async () => {
    const { alice, bob, roomId } = await roomOfTwo(server);
    const first = await sync(bob);
    await setState(alice, roomId, 'm.room.name', { name: 'Renamed in the gap' });
    for (let i = 0; i < 8; i++) await send(alice, roomId, `gap ${i}`);
    const body = await sync(bob, { since: first.next_batch, filter: { room: { timeline: { limit: 3 } } } });
    const room = body.rooms.join[roomId];
    assert.equal(room.timeline.limited, true);
    assert.deepEqual(timelineBodies(room), ['gap 5', 'gap 6', 'gap 7']);
    assert.ok(room.state.events.some((e: any) => e.type === 'm.room.name' && e.content.name === 'Renamed in the gap'));
    assert.match(room.timeline.prev_batch, /^s\d+$/);
  });

  test('filters: by uploaded id and inline, types and not_types', async () => {
    const { alice, bob, roomId } = await roomOfTwo(server);
    const first = await sync(alice);
    await send(bob, roomId, 'a message');
    await setState(alice, roomId, 'm.room.topic', { topic: 'not a message' });
    const upload = await alice.api.post(`/_matrix/client/v3/user/${enc(alice.userId)}/filter`, { room: { timeline: { types: ['m.room.message'] } } });
    const byId = await sync(alice, { since: first.next_batch, filter: upload.body.filter_id });
    assert.deepEqual(byId.rooms.join[roomId].timeline.events.map((e: any) => e.type), ['m.room.message']);
    const inline = await sync(alice, { since: first.next_batch, filter: { room: { timeline: { not_types: ['m.room.*'] } } } });
    assert.deepEqual(inline.rooms.join[roomId]?.timeline.events ?? [], []);
    const unknown = await alice.api.get('/_matrix/client/v3/sync?filter=nosuchfilter');
    assert.equal(unknown.status, 404);
  });

  test('lazy-loaded members: only the senders in the timeline, and oneself', async () => {
    const alice = await registerUser(server);
    const users = await Promise.all([1, 2, 3].map(() => registerUser(server)));
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    for (const u of users) await join(u, roomId);
    await send(users[0]!, roomId, 'only this sender speaks');
    const body = await sync(alice, { filter: { room: { timeline: { limit: 1 }, state: { lazy_load_members: true } } } });
    const members = body.rooms.join[roomId].state.events.filter((e: any) => e.type === 'm.room.member').map((e: any) => e.state_key).sort();
    assert.deepEqual(members, [alice.userId, users[0]!.userId].sort());
    assert.equal(body.rooms.join[roomId].summary['m.joined_member_count'], 4);
  });

  test('account data changes wake a long-poll and come back (clients wait for this echo)', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice);
    const first = await sync(alice);
    const waiting = sync(alice, { since: first.next_batch, timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    await alice.api.put(`/_matrix/client/v3/user/${enc(alice.userId)}/account_data/m.secret_storage.default_key`, { key: 'abc' });
    const body = await waiting;
    assert.deepEqual(body.account_data.events, [{ type: 'm.secret_storage.default_key', content: { key: 'abc' } }]);
    await alice.api.put(`/_matrix/client/v3/user/${enc(alice.userId)}/rooms/${enc(roomId)}/account_data/m.tag`, { tags: { 'u.urgent': {} } });
    const roomBody = await sync(alice, { since: body.next_batch });
    assert.deepEqual(roomBody.rooms.join[roomId].account_data.events, [{ type: 'm.tag', content: { tags: { 'u.urgent': {} } } }]);
  });

  test('push rule changes come back as m.push_rules', async () => {
    const alice = await registerUser(server);
    const first = await sync(alice);
    await alice.api.put('/_matrix/client/v3/pushrules/global/override/.m.rule.master/enabled', { enabled: true });
    const body = await sync(alice, { since: first.next_batch });
    const rules = body.account_data.events.find((e: any) => e.type === 'm.push_rules');
    assert.equal(rules.content.global.override.find((r: any) => r.rule_id === '.m.rule.master').enabled, true);
  });

  test('typing appears for the room\'s members and goes away when it expires', async () => {
    const { alice, bob, roomId } = await roomOfTwo(server);
    const first = await sync(alice);
    const res = await bob.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(bob.userId)}`, { typing: true, timeout: 20_000 });
    assert.equal(res.status, 200);
    const typing = await sync(alice, { since: first.next_batch });
    assert.deepEqual(typing.rooms.join[roomId].ephemeral.events, [{ type: 'm.typing', content: { user_ids: [bob.userId] } }]);
    server.clock.advance(21_000);
    await server.services.receiptsTyping.sweepExpiredTyping();
    const stopped = await sync(alice, { since: typing.next_batch });
    assert.deepEqual(stopped.rooms.join[roomId].ephemeral.events, [{ type: 'm.typing', content: { user_ids: [] } }]);
    const forOther = await bob.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(alice.userId)}`, { typing: true });
    assert.equal(forOther.status, 403);
  });

  test('read receipts reach others; private ones only their owner; read markers set m.fully_read', async () => {
    const { alice, bob, roomId } = await roomOfTwo(server);
    const eventId = await send(alice, roomId, 'Please confirm');
    const first = await sync(alice);
    assert.equal((await bob.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(eventId)}`, {})).status, 200);
    const seen = await sync(alice, { since: first.next_batch });
    const receipt = seen.rooms.join[roomId].ephemeral.events.find((e: any) => e.type === 'm.receipt');
    assert.ok(receipt.content[eventId]['m.read'][bob.userId].ts);

    const bobFirst = await sync(bob);
    await bob.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/read_markers`, { 'm.fully_read': eventId, 'm.read.private': eventId });
    const bobView = await sync(bob, { since: bobFirst.next_batch });
    assert.deepEqual(bobView.rooms.join[roomId].account_data.events, [{ type: 'm.fully_read', content: { event_id: eventId } }]);
    const aliceView = await sync(alice, { since: seen.next_batch });
    const leaked = JSON.stringify(aliceView.rooms.join[roomId]?.ephemeral ?? {});
    assert.ok(!leaked.includes('m.read.private'));
    const unknown = await bob.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc('$unknown')}`, {});
    assert.equal(unknown.status, 404);
  });

  test('unread counts rise with others\' messages and fall when read', async () => {
    const { alice, bob, roomId } = await roomOfTwo(server);
    await send(bob, roomId, 'one');
    await send(bob, roomId, 'two');
    const last = await send(bob, roomId, 'three');
    await send(alice, roomId, 'my own message does not count');
    const body = await sync(alice);
    assert.equal(body.rooms.join[roomId].unread_notifications.notification_count, 3);
    await alice.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(last)}`, {});
    const after = await sync(alice);
    assert.equal(after.rooms.join[roomId].unread_notifications.notification_count, 0);
  });

  test('a newly joined room arrives in full in an incremental sync', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const roomId = await createRoom(alice, { name: 'Joined later' });
    const first = await sync(bob);
    await invite(alice, roomId, bob.userId);
    const invited = await sync(bob, { since: first.next_batch });
    assert.ok(invited.rooms.invite[roomId]);
    await join(bob, roomId);
    const joined = await sync(bob, { since: invited.next_batch });
    const room = joined.rooms.join[roomId];
    const all = [...room.state.events, ...room.timeline.events];
    assert.ok(all.some((e: any) => e.type === 'm.room.create'));
    assert.ok(all.some((e: any) => e.type === 'm.room.name' && e.content.name === 'Joined later'));
  });

  test('concurrent sends with some refused: every accepted one arrives once and the stream has no holes', async () => {
    const { alice, bob, roomId } = await roomOfTwo(server);
    const first = await sync(bob);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/burst-${i}`, i % 5 === 0 ? { body: 'refused', weight: 1.5 } : { body: `burst ${i}` }),
      ),
    );
    const accepted = results.filter((r) => r.status === 200);
    assert.equal(accepted.length, 32);
    assert.ok(results.filter((r) => r.status !== 200).every((r) => r.body.errcode === 'M_BAD_JSON'));
    const body = await sync(bob, { since: first.next_batch, filter: { room: { timeline: { limit: 100 } } } });
    const ids = body.rooms.join[roomId].timeline.events.map((e: any) => e.event_id);
    assert.deepEqual([...ids].sort(), accepted.map((r) => r.body.event_id).sort());
    // Positions of refused jobs are given back: the notifier has heard of every committed position.
    assert.equal(server.services.notifier.heardUpTo, await server.storage.stream.current());
  });

  test('a sync token that was never issued is refused', async () => {
    const alice = await registerUser(server);
    const res = await alice.api.get('/_matrix/client/v3/sync?since=garbage');
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_INVALID_PARAM');
  });

  test('unknown query parameters are ignored (as clients send them)', async () => {
    const alice = await registerUser(server);
    const res = await alice.api.get('/_matrix/client/v3/sync?timeout=0&_cacheBuster=123&org.matrix.msc4222.use_state_after=true');
    assert.equal(res.status, 200);
  });
});
