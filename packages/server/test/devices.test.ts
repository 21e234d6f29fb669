import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { login, passwordAuth, registerUser } from './support/users.ts';

describe('device management', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('lists the user\'s own devices with last-seen address and time', async () => {
    const user = await registerUser(server);
    const phone = await login(server, user, { initial_device_display_name: 'Night-shift phone' });
    await phone.api.get('/_matrix/client/v3/account/whoami');
    const res = await user.api.get('/_matrix/client/v3/devices');
    assert.equal(res.status, 200);
    const ids = res.body.devices.map((d: { device_id: string }) => d.device_id).sort();
    assert.deepEqual(ids, [user.deviceId, phone.device_id].sort());
    const phoneView = res.body.devices.find((d: { device_id: string }) => d.device_id === phone.device_id);
    assert.equal(phoneView.display_name, 'Night-shift phone');
    assert.equal(phoneView.last_seen_ip, '127.0.0.1');
    assert.equal(typeof phoneView.last_seen_ts, 'number');
    const other = await registerUser(server);
    const theirs = await other.api.get('/_matrix/client/v3/devices');
    assert.equal(theirs.body.devices.length, 1, 'no one sees another user\'s devices');
  });

  test('gets and renames one device; unknown devices are 404 M_NOT_FOUND', async () => {
    const user = await registerUser(server);
    const one = await user.api.get(`/_matrix/client/v3/devices/${enc(user.deviceId)}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.device_id, user.deviceId);
    const rename = await user.api.put(`/_matrix/client/v3/devices/${enc(user.deviceId)}`, { display_name: 'Ward PC' });
    assert.equal(rename.status, 200);
    assert.equal((await user.api.get(`/_matrix/client/v3/devices/${enc(user.deviceId)}`)).body.display_name, 'Ward PC');
    for (const res of [await user.api.get('/_matrix/client/v3/devices/NOSUCH'), await user.api.put('/_matrix/client/v3/devices/NOSUCH', { display_name: 'x' })]) {
      assert.equal(res.status, 404);
      assert.equal(res.body.errcode, 'M_NOT_FOUND');
    }
    const other = await registerUser(server);
    const foreign = await other.api.get(`/_matrix/client/v3/devices/${enc(user.deviceId)}`);
    assert.equal(foreign.status, 404, 'another user\'s device is simply not found');
  });

  test('deleting a device needs the password and ends its session at once', async () => {
    const user = await registerUser(server);
    const lost = await login(server, user);
    const challenge = await user.api.delete(`/_matrix/client/v3/devices/${enc(lost.device_id)}`, {});
    assert.equal(challenge.status, 401);
    assert.deepEqual(challenge.body.flows, [{ stages: ['m.login.password'] }]);
    assert.equal((await lost.api.get('/_matrix/client/v3/account/whoami')).status, 200);
    const res = await user.api.delete(`/_matrix/client/v3/devices/${enc(lost.device_id)}`, { auth: passwordAuth(user, challenge.body.session) });
    assert.equal(res.status, 200);
    const after = await lost.api.get('/_matrix/client/v3/account/whoami');
    assert.equal(after.status, 401);
    assert.equal(after.body.errcode, 'M_UNKNOWN_TOKEN');
    assert.equal(after.body.soft_logout, false);
    assert.equal((await user.api.get(`/_matrix/client/v3/devices/${enc(lost.device_id)}`)).status, 404);
  });

  test('deleting an unknown device is 404 before any auth', async () => {
    const user = await registerUser(server);
    const res = await user.api.delete('/_matrix/client/v3/devices/NOSUCH', {});
    assert.equal(res.status, 404);
  });

  test('delete_devices removes several devices in one step', async () => {
    const user = await registerUser(server);
    const a = await login(server, user);
    const b = await login(server, user);
    const res = await user.api.post('/_matrix/client/v3/delete_devices', { devices: [a.device_id, b.device_id, 'UNKNOWN'], auth: passwordAuth(user) });
    assert.equal(res.status, 200);
    for (const s of [a, b]) assert.equal((await s.api.get('/_matrix/client/v3/account/whoami')).status, 401);
    const left = await user.api.get('/_matrix/client/v3/devices');
    assert.deepEqual(left.body.devices.map((d: { device_id: string }) => d.device_id), [user.deviceId]);
  });

  test('delete_devices with a wrong password removes nothing', async () => {
    const user = await registerUser(server);
    const a = await login(server, user);
    const res = await user.api.post('/_matrix/client/v3/delete_devices', { devices: [a.device_id], auth: { ...passwordAuth(user), password: 'wrong password!!' } });
    assert.equal(res.status, 401);
    assert.equal(res.body.errcode, 'M_FORBIDDEN');
    assert.equal((await a.api.get('/_matrix/client/v3/account/whoami')).status, 200);
  });

  test('bad input is a clear 400, never a 500', async () => {
    const user = await registerUser(server);
    const notArray = await user.api.post('/_matrix/client/v3/delete_devices', { devices: 'ABC' });
    assert.equal(notArray.status, 400);
    assert.equal(notArray.body.errcode, 'M_BAD_JSON');
    const missing = await user.api.post('/_matrix/client/v3/delete_devices', {});
    assert.equal(missing.body.errcode, 'M_MISSING_PARAM');
    const badName = await user.api.put(`/_matrix/client/v3/devices/${enc(user.deviceId)}`, { display_name: 42 });
    assert.equal(badName.status, 400);
    assert.equal(badName.body.errcode, 'M_BAD_JSON');
  });
});
