import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { ADMIN, auditEntries, startStaffServer, userWithRoles } from './support/admin.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { login, registerUser, TEST_PASSWORD, uniqueName, type TestUser } from './support/users.ts';

describe('admin API: users', () => {
  let server: TestServer, admin: TestUser, officer: TestUser, clinician: TestUser;
  before(async () => ({ server, admin, officer, clinician } = await startStaffServer()));
  after(() => server.close());

  test('an administrator creates a user with roles, who can then sign in', async () => {
    const localpart = uniqueName('nurse');
    const res = await admin.api.post(`${ADMIN}/users`, { localpart, password: TEST_PASSWORD, roles: ['clinician', 'staff'], displayname: 'Nurse Joy' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.user_id, `@${localpart}:test.local`);
    assert.deepEqual(res.body.roles, ['clinician', 'staff']);

    const got = await admin.api.get(`${ADMIN}/users/${enc(res.body.user_id)}`);
    assert.equal(got.status, 200);
    assert.deepEqual({ ...got.body, created_ts: 0 }, {
      user_id: res.body.user_id,
      displayname: 'Nurse Joy',
      deactivated: false,
      roles: ['clinician', 'staff'],
      created_ts: 0,
      devices: 0,
    });
    await login(server, { localpart, password: TEST_PASSWORD });
  });

  test('the list pages through users and searches ids and display names', async () => {
    const tag = uniqueName('ward');
    for (let i = 0; i < 3; i++) await registerUser(server, { localpart: `${tag}n${i}` });
    const first = await admin.api.get(`${ADMIN}/users?search=${tag.toUpperCase()}&limit=2`);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body.users.map((u: { user_id: string }) => u.user_id), [`@${tag}n0:test.local`, `@${tag}n1:test.local`]);
    assert.ok(first.body.next_from);
    const second = await admin.api.get(`${ADMIN}/users?search=${tag}&limit=2&from=${first.body.next_from}`);
    assert.deepEqual(second.body.users.map((u: { user_id: string }) => u.user_id), [`@${tag}n2:test.local`]);
    assert.equal(second.body.next_from, undefined);

    const wildcard = await admin.api.get(`${ADMIN}/users?search=${enc('%')}`);
    assert.deepEqual(wildcard.body.users, []);
  });

  test('changing roles replaces them; the last administrator cannot lose the role', async () => {
    const user = await registerUser(server);
    const res = await admin.api.put(`${ADMIN}/users/${enc(user.userId)}/roles`, { roles: ['patient'] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(await server.storage.roles.rolesOf(user.userId), ['patient']);

    const unknown = await admin.api.put(`${ADMIN}/users/${enc(user.userId)}/roles`, { roles: ['surgeon'] });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.errcode, 'M_INVALID_PARAM');

    const lone = await startTestServer();
    try {
      const onlyAdmin = await userWithRoles(lone, ['admin']);
      const demote = await onlyAdmin.api.put(`${ADMIN}/users/${enc(onlyAdmin.userId)}/roles`, { roles: ['clinician'] });
      assert.equal(demote.status, 403);
      assert.equal(demote.body.errcode, 'M_FORBIDDEN');
    } finally {
      await lone.close();
    }
  });

  test('deactivating a user ends their sessions and stops sign-in', async () => {
    const user = await registerUser(server);
    const res = await admin.api.post(`${ADMIN}/users/${enc(user.userId)}/deactivate`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((await user.api.get('/_matrix/client/v3/account/whoami')).status, 401);
    const again = await server.api.post('/_matrix/client/v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.localpart }, password: user.password });
    assert.notEqual(again.status, 200);
    const twice = await admin.api.post(`${ADMIN}/users/${enc(user.userId)}/deactivate`);
    assert.equal(twice.status, 400);
  });

  test('resetting a password applies the password policy and ends the sessions', async () => {
    const user = await registerUser(server);
    const weak = await admin.api.post(`${ADMIN}/users/${enc(user.userId)}/reset-password`, { new_password: 'short' });
    assert.equal(weak.status, 400);
    assert.equal(weak.body.errcode, 'M_WEAK_PASSWORD');
    const res = await admin.api.post(`${ADMIN}/users/${enc(user.userId)}/reset-password`, { new_password: 'a brand new passphrase' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((await user.api.get('/_matrix/client/v3/account/whoami')).status, 401);
    await login(server, { localpart: user.localpart, password: 'a brand new passphrase' });
  });

  test('resetting MFA removes the second factors of the user', async () => {
    const user = await registerUser(server);
    await server.storage.mfa.setTotp(user.userId, 'ciphertext', 1, Date.now());
    const res = await admin.api.post(`${ADMIN}/users/${enc(user.userId)}/reset-mfa`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.removed, 1);
    assert.equal(await server.storage.mfa.getTotp(user.userId), undefined);
  });

  test('unknown users are 404; bad ids and bad bodies are 400', async () => {
    assert.equal((await admin.api.get(`${ADMIN}/users/${enc('@nobody:test.local')}`)).status, 404);
    const badId = await admin.api.get(`${ADMIN}/users/not-a-user`);
    assert.equal(badId.status, 400);
    assert.equal(badId.body.errcode, 'M_INVALID_PARAM');
    const badBody = await admin.api.post(`${ADMIN}/users`, { localpart: 'x', password: TEST_PASSWORD, roles: 'admin' });
    assert.equal(badBody.status, 400);
    assert.equal(badBody.body.errcode, 'M_BAD_JSON');
    const extra = await admin.api.post(`${ADMIN}/users`, { localpart: 'x', password: TEST_PASSWORD, is_admin: true });
    assert.equal(extra.body.errcode, 'M_BAD_JSON');
    const badLimit = await admin.api.get(`${ADMIN}/users?limit=0`);
    assert.equal(badLimit.status, 400);
    assert.equal(badLimit.body.errcode, 'M_INVALID_PARAM');
  });

  test('a plain user and a security officer get 403, without a token 401, and every call is audited', async () => {
    for (const caller of [clinician, officer]) {
      const res = await caller.api.get(`${ADMIN}/users`);
      assert.equal(res.status, 403);
      assert.equal(res.body.errcode, 'M_FORBIDDEN');
      // Refused before the body is read: bad input does not tell an outsider anything either.
      assert.equal((await caller.api.post(`${ADMIN}/users`, { nonsense: true })).status, 403);
    }
    const anonymous = await server.api.get(`${ADMIN}/users`);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.errcode, 'M_MISSING_TOKEN');
    assert.equal((await server.api.withToken('not-a-token').get(`${ADMIN}/users`)).body.errcode, 'M_UNKNOWN_TOKEN');

    const listed = await auditEntries(officer, 'admin.users.list');
    const outcomes = listed.map((e) => [e.actor.user_id, e.outcome]);
    assert.ok(outcomes.some(([u, o]) => u === admin.userId && o === 'success'));
    assert.ok(outcomes.some(([u, o]) => u === clinician.userId && o === 'refused'));
    assert.ok(outcomes.some(([u, o]) => u === officer.userId && o === 'refused'));
    assert.ok(outcomes.some(([u, o]) => u === null && o === 'refused'));
    const created = await auditEntries(officer, 'admin.users.create');
    assert.ok(created.some((e) => e.outcome === 'success' && e.actor.user_id === admin.userId && typeof e.details.userId === 'string'));
    // Passwords never reach the trail.
    assert.ok(!JSON.stringify(await auditEntries(officer, 'admin.')).includes(TEST_PASSWORD));
  });
});
