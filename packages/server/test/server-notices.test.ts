import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { sync, timelineBodies } from './support/rooms.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { registerUser, type TestUser } from './support/users.ts';

type SyncBody = Awaited<ReturnType<typeof sync>>;

/** The one invite in a sync, with the inviter. */
function inviteIn(body: SyncBody): { roomId: string; sender: string } | undefined {
  for (const [roomId, room] of Object.entries(body.rooms.invite as Record<string, { invite_state: { events: Array<{ type: string; state_key: string; sender: string; content: { membership?: string } }> } }>)) {
    const member = room.invite_state.events.find((e) => e.type === 'm.room.member' && e.content.membership === 'invite');
    if (member) return { roomId, sender: member.sender };
  }
  return undefined;
}

describe('server notices', () => {
  let server: TestServer;
  // Encryption required: notices still reach users (in plaintext: they carry no patient data).
  before(async () => {
    server = await startTestServer({ room_encryption: 'required' });
  });
  after(() => server.close());

  const notices = () => server.services.serverNotices;

  async function joinNoticeRoom(user: TestUser) {
    const first = await sync(user);
    const invite = inviteIn(first);
    assert.ok(invite, 'the user is invited to the notices room');
    assert.equal(invite.sender, `@server-notices:test.local`);
    const joined = await user.api.post(`/_matrix/client/v3/rooms/${enc(invite.roomId)}/join`, {});
    assert.equal(joined.status, 200, JSON.stringify(joined.body));
    return invite.roomId;
  }

  test('a notice arrives in the user\'s /sync as m.server_notice, in a room tagged m.server_notice', async () => {
    const user = await registerUser(server);
    await notices().sendToUser(user.userId, 'Planned maintenance tonight 22:00–23:00');
    const roomId = await joinNoticeRoom(user);
    const body = await sync(user);
    const room = body.rooms.join[roomId];
    assert.deepEqual(timelineBodies(room), ['Planned maintenance tonight 22:00–23:00']);
    const notice = room.timeline.events.find((e: { type: string }) => e.type === 'm.room.message');
    assert.equal(notice.content.msgtype, 'm.server_notice');
    assert.equal(notice.content.server_notice_type, 'org.caduceus.notice');
    assert.equal(notice.sender, '@server-notices:test.local');
    const tag = room.account_data.events.find((e: { type: string }) => e.type === 'm.tag');
    assert.ok(tag?.content.tags['m.server_notice'], 'the room carries the m.server_notice tag');
  });

  test('later notices go to the same room and wake a waiting /sync', async () => {
    const user = await registerUser(server);
    await notices().sendToUser(user.userId, 'first');
    const roomId = await joinNoticeRoom(user);
    const before = await sync(user);
    const waiting = sync(user, { since: before.next_batch, timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    await notices().sendToUser(user.userId, 'second', { type: 'org.caduceus.account_locked' });
    const woke = await waiting;
    assert.deepEqual(timelineBodies(woke.rooms.join[roomId]), ['second']);
    assert.deepEqual(Object.keys(woke.rooms.invite), [], 'no second room');
  });

  test('the user cannot post in the notices room', async () => {
    const user = await registerUser(server);
    await notices().sendToUser(user.userId, 'hello');
    const roomId = await joinNoticeRoom(user);
    const post = await user.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/t1`, { msgtype: 'm.text', body: 'hi' });
    assert.equal(post.status, 403);
  });

  test('the notices room can be neither declined nor left: 403 M_CANNOT_LEAVE_SERVER_NOTICE_ROOM, on record as refused', async () => {
    const user = await registerUser(server);
    await notices().sendToUser(user.userId, 'hello');
    const invite = inviteIn(await sync(user));
    assert.ok(invite);
    const declined = await user.api.post(`/_matrix/client/v3/rooms/${enc(invite.roomId)}/leave`, {});
    assert.equal(declined.status, 403);
    assert.equal(declined.body.errcode, 'M_CANNOT_LEAVE_SERVER_NOTICE_ROOM');

    const roomId = await joinNoticeRoom(user);
    const left = await user.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/leave`, {});
    assert.equal(left.status, 403);
    assert.equal(left.body.errcode, 'M_CANNOT_LEAVE_SERVER_NOTICE_ROOM');
    assert.ok((await sync(user)).rooms.join[roomId], 'still in the room');

    const refused = (await server.storage.audit.entries({ limit: 1000, action: 'room.member', outcome: 'refused', roomId })).filter((e) => e.actorUserId === user.userId);
    assert.equal(refused.length, 2);
    assert.match(refused[0]!.details, /M_CANNOT_LEAVE_SERVER_NOTICE_ROOM/);

    // Leaving any other room still works.
    const other = await user.api.post('/_matrix/client/v3/createRoom', { initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }] });
    assert.equal((await user.api.post(`/_matrix/client/v3/rooms/${enc(other.body.room_id)}/leave`, {})).status, 200);
  });

  test('sendToRole reaches exactly the holders of the role; sendToAll reaches every active user', async () => {
    const officer = await registerUser(server);
    const nurse = await registerUser(server);
    await server.storage.roles.setRoles(officer.userId, ['security_officer']);
    const sent = await notices().sendToRole('security_officer', 'Account @x locked after failed sign-ins');
    assert.ok(sent >= 1);
    assert.ok(inviteIn(await sync(officer)), 'the officer got it');
    assert.equal(inviteIn(await sync(nurse)), undefined, 'the nurse did not');

    const everyone = await notices().sendToAll('Welcome to Caduceus');
    assert.ok(everyone >= 2);
    assert.ok(inviteIn(await sync(nurse)), 'now the nurse did');
  });

  test('the system user cannot sign in, and its name cannot be registered', async () => {
    const login = await server.api.post('/_matrix/client/v3/login', {
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: 'server-notices' },
      password: 'anything at all 123',
    });
    assert.equal(login.status, 403);
    const available = await server.api.get('/_matrix/client/v3/register/available?username=server-notices');
    assert.equal(available.status, 400);
    assert.equal(available.body.errcode, 'M_USER_IN_USE');
  });

  test('notices to unknown or deactivated users are refused', async () => {
    await assert.rejects(notices().sendToUser('@nobody:test.local', 'x'), (e: { errcode?: string }) => e.errcode === 'M_NOT_FOUND');
    await assert.rejects(notices().sendToUser(notices().systemUserId, 'x'), (e: { errcode?: string }) => e.errcode === 'M_INVALID_PARAM');
  });
});
