import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Role } from '@caduceus/core';
import { enc } from './support/api.ts';
import { createRoom, invite, join } from './support/rooms.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { login, registerUser, uniqueName, TEST_PASSWORD, type TestUser } from './support/users.ts';

const V3 = '/_matrix/client/v3';
const PERMISSION_CONFIG = 'de.gematik.tim.account.permissionconfig.pro.v1';

/** An account with organisation roles (made as an administrator would), signed in. */
async function person(server: TestServer, roles: Role[], displayname?: string): Promise<TestUser> {
  const localpart = uniqueName(roles[0] ?? 'user');
  await server.services.accounts.createUser({ localpart, password: TEST_PASSWORD, admin: false, roles, ...(displayname ? { displayname } : {}) });
  const session = await login(server, { localpart, password: TEST_PASSWORD });
  return { userId: session.user_id, localpart, password: TEST_PASSWORD, accessToken: session.access_token, deviceId: session.device_id, api: session.api };
}

function assertRefused(res: { status: number; body: { errcode?: string; error?: string } }, message: RegExp) {
  assert.equal(res.status, 403, JSON.stringify(res.body));
  assert.equal(res.body.errcode, 'M_FORBIDDEN');
  assert.match(res.body.error ?? '', message);
}

const tryInvite = (from: TestUser, roomId: string, userId: string) => from.api.post(`${V3}/rooms/${enc(roomId)}/invite`, { user_id: userId });
const searchDirectory = async (user: TestUser, term: string) => {
  const res = await user.api.post(`${V3}/user_directory/search`, { search_term: term, limit: 50 });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body.results as Array<{ user_id: string; display_name?: string }>).map((r) => r.user_id);
};
const joinedRooms = async (user: TestUser) => (await user.api.get(`${V3}/joined_rooms`)).body.joined_rooms as string[];

/** Policy refusals on the audit trail, newest last. */
async function refusals(server: TestServer) {
  const rows = await server.storage.audit.entries({ afterSeq: 0, limit: 100_000 });
  return rows
    .filter((r) => r.action === 'policy.refuse')
    .map((r) => ({ actor: r.actorUserId, outcome: r.outcome, target: JSON.parse(r.target) as Record<string, string>, details: JSON.parse(r.details) as Record<string, unknown> }));
}

describe('who may contact whom', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  describe('patients and the care team', { concurrency: true }, () => {
    test('a clinician invites a patient, who joins', async () => {
      const clinician = await person(server, ['clinician']);
      const patient = await person(server, ['patient']);
      const roomId = await createRoom(clinician);
      await invite(clinician, roomId, patient.userId);
      await join(patient, roomId);
      assert.ok((await joinedRooms(patient)).includes(roomId));
    });

    test('a clinician creates a direct chat with a patient', async () => {
      const clinician = await person(server, ['clinician']);
      const patient = await person(server, ['patient']);
      await createRoom(clinician, { preset: 'trusted_private_chat', is_direct: true, invite: [patient.userId] });
    });

    test('a patient cannot invite another patient, even one they share a room with, and the refusal is audited', async () => {
      const clinician = await person(server, ['clinician']);
      const alice = await person(server, ['patient']);
      const bob = await person(server, ['patient']);
      const group = await createRoom(clinician, { invite: [alice.userId, bob.userId] });
      await join(alice, group);
      await join(bob, group);
      const own = await createRoom(alice);

      const res = await tryInvite(alice, own, bob.userId);
      assertRefused(res, /Patients can only invite members of their care team/);
      const members = await alice.api.get(`${V3}/rooms/${enc(own)}/members`);
      assert.ok(!JSON.stringify(members.body).includes(bob.userId), 'bob was not invited');

      const entry = (await refusals(server)).find((r) => r.actor === alice.userId && r.target.userId === bob.userId);
      assert.ok(entry, 'a policy.refuse entry names the inviter and the invitee');
      assert.equal(entry.outcome, 'refused');
      assert.deepEqual(entry.target, { userId: bob.userId, roomId: own });
      assert.equal(entry.details.rule, 'patient_invites_patient');
    });

    test('a patient cannot create a room inviting another patient; no room is made and the refusal is audited', async () => {
      const alice = await person(server, ['patient']);
      const bob = await person(server, ['patient']);
      const res = await alice.api.post(`${V3}/createRoom`, { invite: [bob.userId] });
      assertRefused(res, /Patients can only invite/);
      assert.deepEqual(await joinedRooms(alice), []);
      const entry = (await refusals(server)).find((r) => r.actor === alice.userId && r.target.userId === bob.userId);
      assert.equal(entry?.details.attempt, 'create_room');
    });

    test('a patient cannot start a direct chat with another patient', async () => {
      const alice = await person(server, ['patient']);
      const bob = await person(server, ['patient']);
      const res = await alice.api.post(`${V3}/createRoom`, { preset: 'trusted_private_chat', is_direct: true, invite: [bob.userId] });
      assertRefused(res, /Patients can only invite/);
      assert.deepEqual(await joinedRooms(alice), []);
      assert.deepEqual(await joinedRooms(bob), []);
      const entry = (await refusals(server)).find((r) => r.actor === alice.userId && r.target.userId === bob.userId);
      assert.equal(entry?.details.attempt, 'direct_chat');
    });

    test('a patient cannot start a direct chat with a clinician they share no room with, but can with one they do', async () => {
      const alice = await person(server, ['patient']);
      const stranger = await person(server, ['clinician']);
      const own = await person(server, ['clinician']);
      const refused = await alice.api.post(`${V3}/createRoom`, { is_direct: true, invite: [stranger.userId] });
      assertRefused(refused, /share a room with/);

      const roomId = await createRoom(own, { invite: [alice.userId] });
      await join(alice, roomId);
      await createRoom(alice, { is_direct: true, invite: [own.userId] });
    });

    test('a security officer cannot invite a patient', async () => {
      // Security officers sign in with a second factor; act for one through the service the route calls.
      const localpart = uniqueName('officer');
      const officer = { userId: await server.services.accounts.createUser({ localpart, password: TEST_PASSWORD, admin: false, roles: ['security_officer'] }), deviceId: 'OFFICER' };
      const patient = await person(server, ['patient']);
      const roomId = await server.services.rooms.createRoom(officer, {});
      await assert.rejects(server.services.rooms.invite(officer, roomId, patient.userId), { errcode: 'M_FORBIDDEN', message: /Only staff and clinicians/ });
    });

    test('a patient cannot walk into a published room uninvited; staff can', async () => {
      const clinician = await person(server, ['clinician']);
      const staff = await person(server, ['staff']);
      const patient = await person(server, ['patient']);
      const roomId = await createRoom(clinician, { preset: 'public_chat', visibility: 'public' });
      assertRefused(await patient.api.post(`${V3}/join/${enc(roomId)}`, {}), /only when invited/);
      await join(staff, roomId);
    });
  });

  describe('the user directory', { concurrency: true }, () => {
    test('a patient never finds another patient, even one in the same room', async () => {
      const clinician = await person(server, ['clinician']);
      const name = uniqueName('Patientname');
      const alice = await person(server, ['patient'], `${name} Alice`);
      const bob = await person(server, ['patient'], `${name} Bob`);
      const roomId = await createRoom(clinician, { invite: [alice.userId, bob.userId] });
      await join(alice, roomId);
      await join(bob, roomId);
      assert.deepEqual(await searchDirectory(alice, name), []);
      assert.deepEqual(await searchDirectory(alice, bob.localpart), []);
      // The clinician in that room sees both.
      assert.deepEqual((await searchDirectory(clinician, name)).sort(), [alice.userId, bob.userId].sort());
    });

    test('a patient finds the clinician they share a room with, not staff they share no room with', async () => {
      const surname = uniqueName('Smith');
      const theirs = await person(server, ['clinician'], `Dr ${surname} Ann`);
      const other = await person(server, ['clinician'], `Dr ${surname} Ben`);
      const patient = await person(server, ['patient']);
      // The other clinician is in a published room: staff would find them there, a patient does not.
      await createRoom(other, { preset: 'public_chat', visibility: 'public' });
      const roomId = await createRoom(theirs, { invite: [patient.userId] });
      await join(patient, roomId);
      assert.deepEqual(await searchDirectory(patient, surname), [theirs.userId]);
      const staff = await person(server, ['staff']);
      assert.deepEqual(await searchDirectory(staff, surname), [other.userId]);
    });
  });

  describe("the invitee's permissionConfig", { concurrency: true }, () => {
    test('with "block all" and a user exception for X, only X\'s invitations are accepted', async () => {
      const owner = await person(server, ['clinician']);
      const friend = await person(server, ['clinician']);
      const other = await person(server, ['clinician']);
      const put = await owner.api.put(`${V3}/user/${enc(owner.userId)}/account_data/${PERMISSION_CONFIG}`, {
        defaultSetting: 'block all',
        userExceptions: { [friend.userId]: {} },
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));

      const friendsRoom = await createRoom(friend);
      await invite(friend, friendsRoom, owner.userId);
      const othersRoom = await createRoom(other);
      assertRefused(await tryInvite(other, othersRoom, owner.userId), /does not accept invitations from you/);
      assertRefused(await other.api.post(`${V3}/createRoom`, { is_direct: true, invite: [owner.userId] }), /does not accept invitations/);
      const entry = (await refusals(server)).find((r) => r.actor === other.userId && r.target.userId === owner.userId && r.target.roomId === othersRoom);
      assert.equal(entry?.details.rule, 'permission_config');

      // Clearing it ({}) accepts everyone again.
      assert.equal((await owner.api.put(`${V3}/user/${enc(owner.userId)}/account_data/${PERMISSION_CONFIG}`, {})).status, 200);
      await invite(other, othersRoom, owner.userId);
    });

    test('"allow all" with the insured-person group refuses invitations from patients only', async () => {
      const owner = await person(server, ['clinician']);
      const patient = await person(server, ['patient']);
      const colleague = await person(server, ['staff']);
      const shared = await createRoom(owner, { invite: [patient.userId] });
      await join(patient, shared);
      const put = await owner.api.put(`${V3}/user/${enc(owner.userId)}/account_data/${PERMISSION_CONFIG}`, {
        defaultSetting: 'allow all',
        groupExceptions: [{ groupName: 'isInsuredPerson' }],
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const patientsRoom = await createRoom(patient);
      assertRefused(await tryInvite(patient, patientsRoom, owner.userId), /does not accept invitations/);
      const colleaguesRoom = await createRoom(colleague);
      await invite(colleague, colleaguesRoom, owner.userId);
    });

    const malformed: Array<[string, unknown, RegExp]> = [
      ['without defaultSetting', { userExceptions: {} }, /defaultSetting/],
      ['with an unknown defaultSetting', { defaultSetting: 'block some' }, /defaultSetting/],
      ['with a misspelt field', { defaultSetting: 'block all', userexceptions: {} }, /unknown field "userexceptions"/],
      ['with a user exception that is not a user id', { defaultSetting: 'block all', userExceptions: { 'drjones': {} } }, /not a Matrix user id/],
      ['with a list of users instead of a map', { defaultSetting: 'block all', userExceptions: ['@a:test.local'] }, /userExceptions must be an object/],
    ];
    for (const [name, content, problem] of malformed) {
      test(`a permissionConfig ${name} is refused with 400 M_BAD_JSON and the previous one stays`, async () => {
        const owner = await person(server, ['staff']);
        const path = `${V3}/user/${enc(owner.userId)}/account_data/${PERMISSION_CONFIG}`;
        assert.equal((await owner.api.put(path, { defaultSetting: 'allow all' })).status, 200);
        const res = await owner.api.put(path, content);
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.errcode, 'M_BAD_JSON');
        assert.match(res.body.error, problem);
        assert.deepEqual((await owner.api.get(path)).body, { defaultSetting: 'allow all' });
      });
    }

    test('the same type in room account data is not the policy and is not checked', async () => {
      const owner = await person(server, ['staff']);
      const roomId = await createRoom(owner);
      const res = await owner.api.put(`${V3}/user/${enc(owner.userId)}/rooms/${enc(roomId)}/account_data/${PERMISSION_CONFIG}`, { anything: true });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    });
  });

  describe('a deployment that never assigns roles', { concurrency: true }, () => {
    test('works like a plain Matrix server: users invite each other, start direct chats and find room-mates', async () => {
      const alice = await registerUser(server);
      const bob = await registerUser(server);
      const roomId = await createRoom(alice);
      await invite(alice, roomId, bob.userId);
      await join(bob, roomId);
      await createRoom(bob, { is_direct: true, invite: [alice.userId] });
      assert.deepEqual(await searchDirectory(bob, alice.localpart), [alice.userId]);
    });
  });
});

describe('organisation settings for the contact policy', () => {
  test('with contact_policy off, patients invite patients (permissionConfig still applies)', async (t) => {
    const server = await startTestServer({ contact_policy: 'off' });
    t.after(() => server.close());
    const alice = await person(server, ['patient']);
    const bob = await person(server, ['patient']);
    const carol = await person(server, ['patient']);
    await createRoom(alice, { invite: [bob.userId] });
    await carol.api.put(`${V3}/user/${enc(carol.userId)}/account_data/${PERMISSION_CONFIG}`, { defaultSetting: 'block all' });
    assertRefused(await alice.api.post(`${V3}/createRoom`, { invite: [carol.userId] }), /does not accept invitations/);
  });

  test('with unassigned_role patient, self-registered accounts are patients: they cannot invite each other', async (t) => {
    const server = await startTestServer({ unassigned_role: 'patient' });
    t.after(() => server.close());
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    assertRefused(await alice.api.post(`${V3}/createRoom`, { invite: [bob.userId] }), /Patients can only invite/);
    const clinician = await person(server, ['clinician']);
    await createRoom(clinician, { invite: [alice.userId, bob.userId] });
  });
});
