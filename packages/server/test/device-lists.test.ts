/**
 * /sync `device_lists.left`: a client stops tracking (and sending room keys to) the devices of users
 * it no longer shares any room with — whether they left, were kicked, or it left itself — and
 * `device_lists.changed` brings them back when a room is shared again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { createRoom, invite, join, sync } from './support/rooms.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { registerUser, type TestUser } from './support/users.ts';

describe('device_lists.left in /sync', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  const leave = async (user: TestUser, roomId: string) => {
    const res = await user.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/leave`, {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };

  /** alice and bob in one room together (created by alice), with alice's sync position after bob joined. */
  async function sharedRoom() {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const roomId = await createRoom(alice, { invite: [bob.userId] });
    await join(bob, roomId);
    const aliceSince = (await sync(alice)).next_batch as string;
    const bobSince = (await sync(bob)).next_batch as string;
    return { alice, bob, roomId, aliceSince, bobSince };
  }

  test('bob leaves the only room he shares with alice: he is in her device_lists.left, not in changed; back again, he is in changed', async () => {
    const { alice, bob, roomId, aliceSince } = await sharedRoom();
    await leave(bob, roomId);
    const afterLeave = await sync(alice, { since: aliceSince });
    assert.deepEqual(afterLeave.device_lists.left, [bob.userId]);
    assert.ok(!afterLeave.device_lists.changed.includes(bob.userId));

    const quiet = await sync(alice, { since: afterLeave.next_batch });
    assert.deepEqual(quiet.device_lists.left, [], 'told once');

    await invite(alice, roomId, bob.userId);
    await join(bob, roomId);
    const back = await sync(alice, { since: quiet.next_batch });
    assert.deepEqual(back.device_lists.changed, [bob.userId]);
    assert.deepEqual(back.device_lists.left, []);
  });

  test('alice leaving the last shared room puts bob in her own device_lists.left', async () => {
    const { alice, bob, roomId, aliceSince, bobSince } = await sharedRoom();
    await leave(alice, roomId);
    const mine = await sync(alice, { since: aliceSince });
    assert.deepEqual(mine.device_lists.left, [bob.userId]);
    const his = await sync(bob, { since: bobSince });
    assert.deepEqual(his.device_lists.left, [alice.userId], 'and bob no longer shares a room with alice either');
  });

  test('a user who still shares another room is not left; a kick counts like a leave', async () => {
    const { alice, bob, roomId, aliceSince } = await sharedRoom();
    const second = await createRoom(alice, { invite: [bob.userId] });
    await join(bob, second);
    const since = (await sync(alice, { since: aliceSince })).next_batch;
    await leave(bob, roomId);
    const stillShared = await sync(alice, { since });
    assert.deepEqual(stillShared.device_lists.left, [], 'bob is still in the second room');

    const kicked = await alice.api.post(`/_matrix/client/v3/rooms/${enc(second)}/kick`, { user_id: bob.userId });
    assert.equal(kicked.status, 200);
    const afterKick = await sync(alice, { since: stillShared.next_batch });
    assert.deepEqual(afterKick.device_lists.left, [bob.userId]);
  });

  test('a declined invite never put anyone on the list, so it takes no one off; strangers are never listed', async () => {
    const alice = await registerUser(server);
    const carol = await registerUser(server);
    const stranger = await registerUser(server);
    const roomId = await createRoom(alice, { invite: [carol.userId] });
    const since = (await sync(alice)).next_batch;
    const strangerSince = (await sync(stranger)).next_batch;
    await leave(carol, roomId);
    const view = await sync(alice, { since });
    assert.deepEqual(view.device_lists.left, []);
    assert.deepEqual((await sync(stranger, { since: strangerSince })).device_lists.left, []);
  });

  test('a long-poll wakes when the last shared room is left', async () => {
    const { alice, bob, roomId, aliceSince } = await sharedRoom();
    const waiting = sync(alice, { since: aliceSince, timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    await leave(bob, roomId);
    const woke = await waiting;
    assert.deepEqual(woke.device_lists.left, [bob.userId]);
  });
});
