import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN, auditEntries, staff, startStaffServer, userWithRoles } from './support/admin.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { registerUser, type TestUser } from './support/users.ts';

describe('admin API: policies', () => {
  let server: TestServer, admin: TestUser, officer: TestUser, clinician: TestUser;
  before(async () => ({ server, admin, officer, clinician } = await startStaffServer({ room_encryption: 'optional' })));
  after(() => server.close());

  test('policies show their value, the configured default and where the value comes from', async () => {
    const res = await admin.api.get(`${ADMIN}/policies`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body.policies).sort(), ['contact_policy', 'mfa', 'room_encryption', 'session_idle_timeout_ms', 'session_max_lifetime_ms', 'unassigned_role']);
    assert.equal(res.body.policies.room_encryption.value, 'optional');
    assert.equal(res.body.policies.room_encryption.source, 'config');
  });

  test('requiring encryption applies at once: an unencrypted createRoom is refused; clearing it restores the default', async () => {
    const user = await registerUser(server);
    assert.equal((await user.api.post('/_matrix/client/v3/createRoom', {})).status, 200);

    const set = await admin.api.put(`${ADMIN}/policies`, { room_encryption: 'required', session_idle_timeout_ms: 15 * 60_000 });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body.policies.room_encryption, { value: 'required', default: 'optional', source: 'stored', description: set.body.policies.room_encryption.description });
    assert.equal(set.body.policies.session_idle_timeout_ms.value, 900_000);
    const refused = await user.api.post('/_matrix/client/v3/createRoom', {});
    assert.equal(refused.status, 403);
    assert.equal(refused.body.errcode, 'M_FORBIDDEN');

    const cleared = await admin.api.put(`${ADMIN}/policies`, { room_encryption: null, session_idle_timeout_ms: null });
    assert.equal(cleared.body.policies.room_encryption.source, 'config');
    assert.equal(cleared.body.policies.session_idle_timeout_ms.value, 0);
    assert.equal((await user.api.post('/_matrix/client/v3/createRoom', {})).status, 200);

    const entries = await auditEntries(officer, 'admin.policies.update');
    assert.ok(entries.some((e) => e.outcome === 'success' && e.details.room_encryption === '"required"'));
  });

  test('switching the contact policy off lets a patient invite another patient; on again refuses', async () => {
    const [alice, bob, carol] = [await userWithRoles(server, ['patient']), await userWithRoles(server, ['patient']), await userWithRoles(server, ['patient'])];
    const createWith = (invitee: TestUser) => alice.api.post('/_matrix/client/v3/createRoom', { invite: [invitee.userId] });
    const before = await createWith(bob);
    assert.equal(before.status, 403);
    assert.equal(before.body.errcode, 'M_FORBIDDEN');

    const off = await admin.api.put(`${ADMIN}/policies`, { contact_policy: 'off' });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.deepEqual({ ...off.body.policies.contact_policy, description: '' }, { value: 'off', default: 'roles', source: 'stored', description: '' });
    const created = await createWith(bob);
    assert.equal(created.status, 200, JSON.stringify(created.body));

    await admin.api.put(`${ADMIN}/policies`, { contact_policy: 'roles' });
    const invite = await alice.api.post(`/_matrix/client/v3/rooms/${encodeURIComponent(created.body.room_id)}/invite`, { user_id: carol.userId });
    assert.equal(invite.status, 403);
    assert.equal(invite.body.errcode, 'M_FORBIDDEN');

    // Accounts without a role count as the unassigned role: as patients, they may not invite patients either.
    const plain = await registerUser(server);
    assert.equal((await plain.api.post('/_matrix/client/v3/createRoom', { invite: [carol.userId] })).status, 200);
    await admin.api.put(`${ADMIN}/policies`, { unassigned_role: 'patient' });
    assert.equal((await plain.api.post('/_matrix/client/v3/createRoom', { invite: [carol.userId] })).status, 403);
    const cleared = await admin.api.put(`${ADMIN}/policies`, { contact_policy: null, unassigned_role: null });
    assert.equal(cleared.body.policies.unassigned_role.value, 'staff');
    assert.ok((await auditEntries(officer, 'admin.policies.update')).some((e) => e.details.contact_policy === '"off"'));
  });

  test('a stored policy survives a restart: it is applied when the server starts', async () => {
    const first = await startTestServer({ room_encryption: 'optional' });
    const { admin: firstAdmin } = await staff(first);
    assert.equal((await firstAdmin.api.put(`${ADMIN}/policies`, { room_encryption: 'required' })).status, 200);
    const { startServer } = await import('../src/index.ts');
    // A second server on the same database and settings.
    const second = await startServer({ ...first.config, port: 0, encryptionRequired: false, sessionPolicy: { ...first.config.sessionPolicy } }, first.clock);
    try {
      assert.equal(second.config.encryptionRequired, true);
    } finally {
      await second.close();
      await first.close();
    }
  });

  test('permission failures and bad input', async () => {
    assert.equal((await clinician.api.get(`${ADMIN}/policies`)).status, 403);
    assert.equal((await officer.api.put(`${ADMIN}/policies`, { mfa: 'required' })).status, 403);
    assert.equal((await server.api.put(`${ADMIN}/policies`, { mfa: 'required' })).status, 401);
    for (const body of [{}, { mfa: 'sometimes' }, { unknown_policy: 1 }, { session_idle_timeout_ms: -1 }]) {
      const res = await admin.api.put(`${ADMIN}/policies`, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.errcode, 'M_BAD_JSON');
    }
  });
});
