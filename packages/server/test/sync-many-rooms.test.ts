/**
 * An initial /sync reads the rooms it shows in full together (a few queries for all rooms): each
 * room must still get exactly its own timeline, state, visibility rules, unread count and summary.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { createRoom, invite, join, send, setState, sync, timelineBodies } from './support/rooms.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { registerUser } from './support/users.ts';

type Event = { type: string; state_key?: string; sender: string; content: Record<string, unknown>; unsigned?: Record<string, unknown> };

const memberKeys = (events: Event[]) => events.filter((e) => e.type === 'm.room.member').map((e) => e.state_key).sort();

describe('/sync of many rooms at once', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('every room of an initial sync gets its own timeline, state, visibility, unread count and summary', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const carol = await registerUser(server);

    // Restricted: what was said before Bob joined stays hidden from him.
    const restricted = await createRoom(alice);
    assert.equal((await setState(alice, restricted, 'm.room.history_visibility', { history_visibility: 'joined' })).status, 200);
    await send(alice, restricted, 'restricted before 1');
    await send(alice, restricted, 'restricted before 2');
    await invite(alice, restricted, bob.userId);
    await join(bob, restricted);
    await send(alice, restricted, 'restricted after');

    // Shared: Bob reads what came before he joined; Carol's message after his join is unread until his receipt.
    const shared = await createRoom(alice, { preset: 'public_chat' });
    assert.equal((await setState(alice, shared, 'm.room.history_visibility', { history_visibility: 'shared' })).status, 200);
    await send(alice, shared, 'shared early');
    await join(bob, shared);
    await join(carol, shared);
    const read = await send(carol, shared, 'shared late 1');
    await send(carol, shared, 'shared late 2');
    assert.equal((await bob.api.post(`/_matrix/client/v3/rooms/${enc(shared)}/receipt/m.read/${enc(read)}`, {})).status, 200);

    // Bob's own busy room: more than a timeline's worth, all his own messages.
    const own = await createRoom(bob);
    for (let i = 1; i <= 15; i++) await send(bob, own, `own ${i}`, `own-txn-${i}`);

    const body = await sync(bob);
    const rooms = body.rooms.join;
    assert.deepEqual(Object.keys(rooms).sort(), [restricted, shared, own].sort());

    assert.deepEqual(timelineBodies(rooms[restricted]), ['restricted after']);
    assert.equal(rooms[restricted].timeline.limited, true, 'the hidden history is marked as a gap');
    assert.deepEqual(timelineBodies(rooms[shared]), ['shared early', 'shared late 1', 'shared late 2']);
    assert.deepEqual(timelineBodies(rooms[own]), Array.from({ length: 10 }, (_, i) => `own ${i + 6}`));
    assert.equal(rooms[own].timeline.limited, true);
    assert.equal(rooms[shared].timeline.limited, true, 'the shared room has more than 10 events');

    const ownMessages = (rooms[own].timeline.events as Event[]).filter((e) => e.type === 'm.room.message');
    assert.deepEqual(ownMessages.map((e) => e.unsigned?.transaction_id), Array.from({ length: 10 }, (_, i) => `own-txn-${i + 6}`));
    assert.ok(!(rooms[restricted].timeline.events as Event[]).some((e) => e.unsigned?.transaction_id), 'no transaction ids on others\' events');

    // State before each timeline is that room's own state: its own creator, never another room's messages.
    for (const [roomId, creator] of [[restricted, alice.userId], [shared, alice.userId], [own, bob.userId]] as const) {
      const state = rooms[roomId].state.events as Event[];
      assert.equal(state.find((e) => e.type === 'm.room.create')?.sender, creator, roomId);
      assert.ok(!state.some((e) => e.type === 'm.room.message'));
    }
    assert.equal((rooms[restricted].state.events as Event[]).find((e) => e.type === 'm.room.history_visibility')?.content.history_visibility, 'joined');

    assert.deepEqual(
      [restricted, shared, own].map((id) => rooms[id].unread_notifications.notification_count),
      [1, 1, 0],
      'unread: one after the join; one after the receipt; none of one\'s own',
    );
    assert.deepEqual(rooms[restricted].summary, { 'm.heroes': [alice.userId], 'm.joined_member_count': 2, 'm.invited_member_count': 0 });
    assert.deepEqual(rooms[shared].summary, { 'm.heroes': [alice.userId, carol.userId].sort(), 'm.joined_member_count': 3, 'm.invited_member_count': 0 });
    assert.deepEqual(rooms[own].summary, { 'm.heroes': [], 'm.joined_member_count': 1, 'm.invited_member_count': 0 });

    // Lazy-loaded members, per room: oneself and the senders of that room's timeline only.
    const lazy = (await sync(bob, { filter: { room: { timeline: { limit: 1 }, state: { lazy_load_members: true } } } })).rooms.join;
    assert.deepEqual(memberKeys(lazy[restricted].state.events), [alice.userId, bob.userId].sort());
    assert.deepEqual(memberKeys(lazy[shared].state.events), [bob.userId, carol.userId].sort());
    assert.deepEqual(memberKeys(lazy[own].state.events), [bob.userId]);
    assert.equal(lazy[shared].summary['m.joined_member_count'], 3, 'the summary still counts everyone');
  });

  test('a room whose newest events the filter drops reads further back for its timeline', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice);
    const quiet = await createRoom(alice);
    await send(alice, roomId, 'first');
    await send(alice, roomId, 'second');
    // More than one page (20 events) of state changes after the last message.
    for (let i = 0; i < 25; i++) assert.equal((await setState(alice, roomId, 'm.room.topic', { topic: `topic ${i}` })).status, 200);

    const body = await sync(alice, { filter: { room: { timeline: { limit: 2, types: ['m.room.message'] } } } });
    assert.deepEqual(timelineBodies(body.rooms.join[roomId]), ['first', 'second']);
    assert.equal(body.rooms.join[roomId].timeline.limited, false);
    const topic = (body.rooms.join[roomId].state.events as Event[]).find((e) => e.type === 'm.room.topic');
    assert.equal(topic, undefined, 'the state is the one before "first": no topic yet');
    assert.deepEqual(timelineBodies(body.rooms.join[quiet]), [], 'a room without messages is there, with an empty timeline');
  });
});
