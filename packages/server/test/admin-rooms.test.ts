import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { ADMIN, auditEntries, startStaffServer } from './support/admin.ts';
import { createRoom, invite, join, send } from './support/rooms.ts';
import type { TestServer } from './support/server.ts';
import { registerUser, type TestUser } from './support/users.ts';

describe('admin API: rooms', () => {
  let server: TestServer, admin: TestUser, officer: TestUser, clinician: TestUser;
  before(async () => ({ server, admin, officer, clinician } = await startStaffServer()));
  after(() => server.close());

  test('rooms are listed page by page with their member counts', async () => {
    const owner = await registerUser(server);
    const rooms = [await createRoom(owner), await createRoom(owner), await createRoom(owner)];
    const seen: Array<{ room_id: string; joined_members: number; blocked: boolean }> = [];
    let from: string | undefined;
    do {
      const res = await admin.api.get(`${ADMIN}/rooms?limit=2${from ? `&from=${from}` : ''}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(res.body.rooms.length <= 2);
      seen.push(...res.body.rooms);
      from = res.body.next_from;
    } while (from);
    for (const roomId of rooms) assert.deepEqual(seen.filter((r) => r.room_id === roomId).map((r) => [r.joined_members, r.blocked]), [[1, false]]);
  });

  test('the state summary shows settings and counts, and the member list memberships, never messages', async () => {
    const owner = await registerUser(server);
    const guest = await registerUser(server);
    const roomId = await createRoom(owner, {
      name: 'Ward 7 handover',
      topic: 'Night shift',
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
    });
    await invite(owner, roomId, guest.userId);
    const secret = await owner.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.encrypted/t1`, { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'SECRET-CIPHERTEXT', sender_key: 'k', session_id: 's', device_id: 'D' });
    assert.equal(secret.status, 200);

    const summary = await admin.api.get(`${ADMIN}/rooms/${enc(roomId)}`);
    assert.equal(summary.status, 200, JSON.stringify(summary.body));
    assert.equal(summary.body.name, 'Ward 7 handover');
    assert.equal(summary.body.topic, 'Night shift');
    assert.equal(summary.body.encrypted, true);
    assert.equal(summary.body.encryption_algorithm, 'm.megolm.v1.aes-sha2');
    assert.equal(summary.body.join_rule, 'invite');
    assert.deepEqual(summary.body.members, { joined: 1, invited: 1, left: 0, banned: 0 });
    assert.ok(!JSON.stringify(summary.body).includes('SECRET-CIPHERTEXT'));

    const members = await admin.api.get(`${ADMIN}/rooms/${enc(roomId)}/members`);
    assert.deepEqual(
      members.body.members.sort((a: { user_id: string }, b: { user_id: string }) => a.user_id.localeCompare(b.user_id)),
      [
        { user_id: owner.userId, membership: 'join' },
        { user_id: guest.userId, membership: 'invite' },
      ].sort((a, b) => a.user_id.localeCompare(b.user_id)),
    );
    assert.equal((await admin.api.get(`${ADMIN}/rooms/${enc('!missing:test.local')}`)).status, 404);
  });

  test('a blocked room refuses joins, invites and sends until it is unblocked', async () => {
    const owner = await registerUser(server);
    const invited = await registerUser(server);
    const outsider = await registerUser(server);
    const roomId = await createRoom(owner, { preset: 'public_chat' });
    await invite(owner, roomId, invited.userId);
    const sentBefore = await owner.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/a1`, { msgtype: 'm.text', body: 'before the block' });
    assert.equal(sentBefore.status, 200);

    const block = await admin.api.put(`${ADMIN}/rooms/${enc(roomId)}/block`, { blocked: true });
    assert.equal(block.status, 200, JSON.stringify(block.body));
    const joinRes = await outsider.api.post(`/_matrix/client/v3/join/${enc(roomId)}`, {});
    assert.equal(joinRes.status, 403);
    assert.equal(joinRes.body.errcode, 'M_FORBIDDEN');
    assert.equal((await invited.api.post(`/_matrix/client/v3/join/${enc(roomId)}`, {})).status, 403);
    const sendRes = await owner.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/b1`, { msgtype: 'm.text', body: 'hello' });
    assert.equal(sendRes.status, 403);
    assert.equal(sendRes.body.error, 'This room has been blocked by an administrator');
    // A retry of a send the server accepted before the block is still answered with its event.
    const retried = await owner.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/a1`, { msgtype: 'm.text', body: 'before the block' });
    assert.equal(retried.status, 200);
    assert.equal(retried.body.event_id, sentBefore.body.event_id);
    assert.equal((await owner.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: outsider.userId })).status, 403);
    // Members can still leave a blocked room.
    assert.equal((await owner.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/leave`, {})).status, 200);
    assert.equal((await admin.api.get(`${ADMIN}/rooms/${enc(roomId)}`)).body.blocked, true);

    assert.equal((await admin.api.put(`${ADMIN}/rooms/${enc(roomId)}/block`, { blocked: false })).status, 200);
    await join(outsider, roomId);
    await send(outsider, roomId, 'back again');
    const entries = await auditEntries(officer, 'admin.rooms.block');
    assert.ok(entries.some((e) => e.outcome === 'success' && e.target.roomId === roomId));
  });

  test('permission failures and bad input', async () => {
    assert.equal((await clinician.api.get(`${ADMIN}/rooms`)).status, 403);
    assert.equal((await officer.api.put(`${ADMIN}/rooms/${enc('!x:test.local')}/block`, { blocked: true })).status, 403);
    assert.equal((await server.api.get(`${ADMIN}/rooms`)).status, 401);
    const badBody = await admin.api.put(`${ADMIN}/rooms/${enc('!x:test.local')}/block`, { blocked: 'yes' });
    assert.equal(badBody.status, 400);
    assert.equal(badBody.body.errcode, 'M_BAD_JSON');
    assert.equal((await admin.api.put(`${ADMIN}/rooms/${enc('!x:test.local')}/block`, { blocked: true })).status, 404);
    const badId = await admin.api.get(`${ADMIN}/rooms/not-a-room`);
    assert.equal(badId.body.errcode, 'M_INVALID_PARAM');
    assert.equal((await admin.api.get(`${ADMIN}/rooms?from=***`)).body.errcode, 'M_INVALID_PARAM');
  });
});
