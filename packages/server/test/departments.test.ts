import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Role } from '@caduceus/core';
import { createRoom, invite, join } from './support/rooms.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { login, uniqueName, TEST_PASSWORD, type TestUser } from './support/users.ts';

const V3 = '/_matrix/client/v3';

describe('departments and functional accounts', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  async function account(roles: Role[], displayname?: string): Promise<string> {
    return server.services.accounts.createUser({ localpart: uniqueName(roles[0] ?? 'user'), password: TEST_PASSWORD, admin: false, roles, ...(displayname ? { displayname } : {}) });
  }

  async function person(roles: Role[]): Promise<TestUser> {
    const userId = await account(roles);
    const localpart = userId.slice(1, userId.indexOf(':'));
    const session = await login(server, { localpart, password: TEST_PASSWORD });
    return { userId, localpart, password: TEST_PASSWORD, accessToken: session.access_token, deviceId: session.device_id, api: session.api };
  }

  /** A department with a functional account; its name is unique to the test. */
  async function department(prefix = 'Cardiology') {
    const name = `${prefix} ${uniqueName('ward')}`;
    const functionalUserId = await account(['service'], 'desk account');
    const created = await server.services.departments.create({ departmentId: uniqueName('dept').toLowerCase(), name, functionalUserId });
    return { ...created, functionalUserId };
  }

  async function search(user: TestUser, term: string) {
    const res = await user.api.post(`${V3}/user_directory/search`, { search_term: term, limit: 50 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.results as Array<{ user_id: string; display_name?: string }>;
  }

  describe('in the user directory', { concurrency: true }, () => {
    test("staff and clinicians find a department by its name, shown under the department's name", async () => {
      const cardiology = await department('Cardiology');
      for (const roles of [['staff'], ['clinician']] as Role[][]) {
        const searcher = await person(roles);
        const results = await search(searcher, cardiology.name.split(' ')[1]!);
        assert.deepEqual(results, [{ user_id: cardiology.functionalUserId, display_name: cardiology.name }], roles[0]);
      }
    });

    test('patients do not find departments', async () => {
      const cardiology = await department();
      const patient = await person(['patient']);
      assert.deepEqual(await search(patient, cardiology.name.split(' ')[1]!), []);
    });

    test('a department whose functional account is deactivated, or that has none, is not listed', async () => {
      const gone = await department('Radiology');
      await server.storage.users.setDeactivated(gone.functionalUserId);
      const empty = `Oncology ${uniqueName('ward')}`;
      await server.services.departments.create({ departmentId: uniqueName('dept').toLowerCase(), name: empty });
      const staff = await person(['staff']);
      assert.deepEqual(await search(staff, gone.name.split(' ')[1]!), []);
      assert.deepEqual(await search(staff, empty.split(' ')[1]!), []);
    });
  });

  describe('contact', { concurrency: true }, () => {
    test('a patient may invite a department without sharing a room with it first', async () => {
      const cardiology = await department();
      const patient = await person(['patient']);
      await createRoom(patient, { is_direct: true, invite: [cardiology.functionalUserId] });
    });

    test('staff invite the department, and the department invites a patient', async () => {
      const cardiology = await department();
      const staff = await person(['staff']);
      const patient = await person(['patient']);
      const roomId = await createRoom(staff, { invite: [cardiology.functionalUserId] });
      await server.services.rooms.join({ userId: cardiology.functionalUserId, deviceId: 'DESK' }, roomId);
      await server.services.rooms.invite({ userId: cardiology.functionalUserId, deviceId: 'DESK' }, roomId, patient.userId);
      await join(patient, roomId);
      await invite(staff, await createRoom(staff), patient.userId);
    });
  });

  describe('management (what the admin API calls)', { concurrency: true }, () => {
    test('members are added and removed; a department lists them', async () => {
      const d = await department();
      const a = await account(['clinician']);
      const b = await account(['staff']);
      assert.equal(await server.services.departments.addMember(d.departmentId, a), true);
      assert.equal(await server.services.departments.addMember(d.departmentId, b), true);
      assert.equal(await server.services.departments.addMember(d.departmentId, a), false, 'adding twice changes nothing');
      assert.deepEqual((await server.services.departments.get(d.departmentId)).members, [a, b].sort());
      assert.equal(await server.services.departments.removeMember(d.departmentId, a), true);
      assert.equal(await server.services.departments.removeMember(d.departmentId, a), false);
      assert.deepEqual((await server.services.departments.get(d.departmentId)).members, [b]);
      assert.deepEqual((await server.services.departments.departmentsOf(b)).map((x) => x.departmentId), [d.departmentId]);
    });

    test('renaming and replacing the functional account show in the directory at once', async () => {
      const d = await department();
      const staff = await person(['staff']);
      const renamed = `Cardiac care ${uniqueName('ward')}`;
      await server.services.departments.update(d.departmentId, { name: renamed, description: 'Ward 4' });
      const replacement = await account(['service']);
      await server.services.departments.setFunctionalAccount(d.departmentId, replacement);
      assert.deepEqual(await search(staff, renamed.split(' ')[2]!), [{ user_id: replacement, display_name: renamed }]);
      const listed = await server.services.departments.list(renamed.split(' ')[2]!);
      assert.deepEqual(listed.map((x) => [x.departmentId, x.description]), [[d.departmentId, 'Ward 4']]);
    });

    test('a deleted department is gone with its members', async () => {
      const d = await department();
      await server.services.departments.addMember(d.departmentId, await account(['staff']));
      await server.services.departments.delete(d.departmentId);
      await assert.rejects(server.services.departments.get(d.departmentId), { errcode: 'M_NOT_FOUND' });
    });

    test('bad input is refused by name', async () => {
      const d = await department();
      const departments = server.services.departments;
      await assert.rejects(departments.create({ departmentId: 'Has Spaces', name: 'X' }), { errcode: 'M_INVALID_PARAM' });
      await assert.rejects(departments.create({ departmentId: uniqueName('d').toLowerCase(), name: '   ' }), { errcode: 'M_INVALID_PARAM' });
      await assert.rejects(departments.create({ departmentId: d.departmentId, name: 'Again' }), { errcode: 'M_UNKNOWN', status: 409 });
      await assert.rejects(departments.create({ departmentId: uniqueName('d').toLowerCase(), name: 'Two desks', functionalUserId: d.functionalUserId }), /already stands for/);
      await assert.rejects(departments.addMember(d.departmentId, '@nobody:test.local'), { errcode: 'M_NOT_FOUND' });
      await assert.rejects(departments.addMember(d.departmentId, '@someone:elsewhere.example'), { errcode: 'M_INVALID_PARAM' });
      await assert.rejects(departments.addMember('no-such-department', d.functionalUserId), { errcode: 'M_NOT_FOUND' });
    });
  });
});
