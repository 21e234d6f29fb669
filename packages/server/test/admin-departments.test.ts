import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { ADMIN, auditEntries, startStaffServer, userWithRoles } from './support/admin.ts';
import type { TestServer } from './support/server.ts';
import { uniqueName, type TestUser } from './support/users.ts';

describe('admin API: departments', () => {
  let server: TestServer, admin: TestUser, officer: TestUser, clinician: TestUser;
  before(async () => ({ server, admin, officer, clinician } = await startStaffServer()));
  after(() => server.close());

  const newId = () => uniqueName('dept').toLowerCase();

  test('an administrator creates, finds, renames and deletes a department; each change is on record', async () => {
    const id = newId();
    const created = await admin.api.post(`${ADMIN}/departments`, { department_id: id, name: `Cardiology ${id}`, description: 'Heart ward' });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.deepEqual({ ...created.body, created_ts: 0 }, { department_id: id, name: `Cardiology ${id}`, description: 'Heart ward', functional_user_id: null, created_ts: 0, members: [] });

    const found = await admin.api.get(`${ADMIN}/departments?search=${enc(id)}`);
    assert.deepEqual(found.body.departments.map((d: any) => d.department_id), [id]);

    const renamed = await admin.api.put(`${ADMIN}/departments/${id}`, { name: `Cardiology East ${id}` });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(renamed.body.name, `Cardiology East ${id}`);
    assert.equal(renamed.body.description, 'Heart ward');

    assert.equal((await admin.api.delete(`${ADMIN}/departments/${id}`)).status, 200);
    assert.equal((await admin.api.get(`${ADMIN}/departments/${id}`)).status, 404);

    for (const verb of ['create', 'update', 'delete']) {
      const entries = (await auditEntries(officer, `admin.departments.${verb}`)).filter((e) => e.target.departmentId === id);
      assert.equal(entries.length, 1, verb);
      assert.equal(entries[0]!.actor.user_id, admin.userId);
      assert.equal(entries[0]!.outcome, 'success');
    }
  });

  test('the functional account and the members are set and removed; staff find the department by name', async () => {
    const id = newId();
    await admin.api.post(`${ADMIN}/departments`, { department_id: id, name: `Radiology ${id}` });
    const desk = await userWithRoles(server, ['service']);
    const nurse = await userWithRoles(server, ['clinician']);

    const account = await admin.api.put(`${ADMIN}/departments/${id}/functional-account`, { user_id: desk.userId });
    assert.equal(account.status, 200, JSON.stringify(account.body));
    assert.equal(account.body.functional_user_id, desk.userId);
    const search = await clinician.api.post('/_matrix/client/v3/user_directory/search', { search_term: id, limit: 10 });
    assert.deepEqual(search.body.results.map((r: any) => r.user_id), [desk.userId]);

    assert.deepEqual((await admin.api.put(`${ADMIN}/departments/${id}/members/${enc(nurse.userId)}`, {})).body, { added: true });
    assert.deepEqual((await admin.api.put(`${ADMIN}/departments/${id}/members/${enc(nurse.userId)}`, {})).body, { added: false });
    assert.deepEqual((await admin.api.get(`${ADMIN}/departments/${id}`)).body.members, [nurse.userId]);
    assert.deepEqual((await admin.api.delete(`${ADMIN}/departments/${id}/members/${enc(nurse.userId)}`)).body, { removed: true });
    assert.deepEqual((await admin.api.get(`${ADMIN}/departments/${id}`)).body.members, []);

    const cleared = await admin.api.put(`${ADMIN}/departments/${id}/functional-account`, { user_id: null });
    assert.equal(cleared.body.functional_user_id, null);

    const added = (await auditEntries(officer, 'admin.departments.add_member')).filter((e) => e.target.departmentId === id);
    assert.deepEqual(added.map((e) => e.target.userId), [nurse.userId, nurse.userId]);
    assert.equal((await auditEntries(officer, 'admin.departments.functional_account')).filter((e) => e.target.departmentId === id).length, 2);
  });

  test('named failures: taken id 409, bad id or empty name 400, unknown department or user 404', async () => {
    const id = newId();
    await admin.api.post(`${ADMIN}/departments`, { department_id: id, name: 'Oncology' });
    const taken = await admin.api.post(`${ADMIN}/departments`, { department_id: id, name: 'Oncology' });
    assert.equal(taken.status, 409);
    for (const body of [{ department_id: 'Not Valid', name: 'X' }, { department_id: newId(), name: '   ' }, { department_id: newId(), name: 'X', extra: 1 }]) {
      const res = await admin.api.post(`${ADMIN}/departments`, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.body.errcode, /^M_(INVALID_PARAM|BAD_JSON)$/);
    }
    assert.equal((await admin.api.put(`${ADMIN}/departments/${id}`, {})).status, 400);
    assert.equal((await admin.api.put(`${ADMIN}/departments/${newId()}`, { name: 'Y' })).status, 404);
    assert.equal((await admin.api.put(`${ADMIN}/departments/${id}/members/${enc('@nobody:test.local')}`, {})).status, 404);
    assert.equal((await admin.api.put(`${ADMIN}/departments/${id}/functional-account`, { user_id: '@someone:elsewhere.example' })).status, 400);
    const failed = (await auditEntries(officer, 'admin.departments.create')).filter((e) => e.target.departmentId === id && e.outcome === 'failure');
    assert.equal(failed.length, 1);
  });

  test('only administrators: a security officer and a clinician get 403, no token 401, and the refusal is on record', async () => {
    for (const user of [officer, clinician]) {
      const res = await user.api.post(`${ADMIN}/departments`, { department_id: newId(), name: 'Nope' });
      assert.equal(res.status, 403);
      assert.equal(res.body.errcode, 'M_FORBIDDEN');
      assert.equal((await user.api.get(`${ADMIN}/departments`)).status, 403);
    }
    assert.equal((await server.api.get(`${ADMIN}/departments`)).status, 401);
    const refused = (await auditEntries(officer, 'admin.departments.create')).filter((e) => e.outcome === 'refused');
    assert.ok(refused.some((e) => e.actor.user_id === clinician.userId));
  });
});
