import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { ADMIN, auditEntries, startStaffServer } from './support/admin.ts';
import type { TestServer } from './support/server.ts';
import { login, registerUser, type TestUser } from './support/users.ts';

describe('admin API: devices', () => {
  let server: TestServer, admin: TestUser, officer: TestUser, clinician: TestUser;
  before(async () => ({ server, admin, officer, clinician } = await startStaffServer()));
  after(() => server.close());

  test("an administrator lists a user's devices and wipes one; only that session ends", async () => {
    const user = await registerUser(server);
    const second = await login(server, user);
    const list = await admin.api.get(`${ADMIN}/users/${enc(user.userId)}/devices`);
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.deepEqual(list.body.devices.map((d: { device_id: string }) => d.device_id).sort(), [user.deviceId, second.device_id].sort());

    const wipe = await admin.api.post(`${ADMIN}/users/${enc(user.userId)}/devices/${enc(second.device_id)}/wipe`);
    assert.equal(wipe.status, 200, JSON.stringify(wipe.body));
    const ended = await second.api.get('/_matrix/client/v3/account/whoami');
    assert.equal(ended.status, 401);
    assert.equal(ended.body.soft_logout, false);
    assert.equal((await user.api.get('/_matrix/client/v3/account/whoami')).status, 200);

    const gone = await admin.api.post(`${ADMIN}/users/${enc(user.userId)}/devices/${enc(second.device_id)}/wipe`);
    assert.equal(gone.status, 404);
    const entries = await auditEntries(officer, 'admin.devices.wipe');
    assert.ok(entries.some((e) => e.outcome === 'success' && e.target.deviceId === second.device_id));
  });

  test('wiping all devices ends every session of the user', async () => {
    const user = await registerUser(server);
    const second = await login(server, user);
    const res = await admin.api.post(`${ADMIN}/users/${enc(user.userId)}/devices/wipe`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.wiped, 2);
    assert.equal((await user.api.get('/_matrix/client/v3/account/whoami')).status, 401);
    assert.equal((await second.api.get('/_matrix/client/v3/account/whoami')).status, 401);
  });

  test('a plain user and a security officer get 403; without a token 401; a bad user id 400', async () => {
    const path = `${ADMIN}/users/${enc(admin.userId)}/devices`;
    assert.equal((await clinician.api.get(path)).status, 403);
    assert.equal((await officer.api.get(path)).status, 403);
    assert.equal((await officer.api.post(`${path}/wipe`)).body.errcode, 'M_FORBIDDEN');
    assert.equal((await server.api.get(path)).status, 401);
    const bad = await admin.api.get(`${ADMIN}/users/alice/devices`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errcode, 'M_INVALID_PARAM');
  });
});
