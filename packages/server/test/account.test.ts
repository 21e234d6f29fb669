import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from './support/server.ts';
import { login, passwordAuth, registerUser } from './support/users.ts';

const NEW_PASSWORD = 'a completely new passphrase';

describe('changing the password', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('needs the current password through user-interactive auth', async () => {
    const user = await registerUser(server);
    const challenge = await user.api.post('/_matrix/client/v3/account/password', { new_password: NEW_PASSWORD });
    assert.equal(challenge.status, 401);
    assert.deepEqual(challenge.body.flows, [{ stages: ['m.login.password'] }]);
    const wrong = await user.api.post('/_matrix/client/v3/account/password', {
      new_password: NEW_PASSWORD,
      auth: { ...passwordAuth(user, challenge.body.session), password: 'not my password!' },
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.errcode, 'M_FORBIDDEN');
    assert.equal(wrong.body.session, challenge.body.session);
    const ok = await user.api.post('/_matrix/client/v3/account/password', { new_password: NEW_PASSWORD, auth: passwordAuth(user, challenge.body.session) });
    assert.equal(ok.status, 200);
    await login(server, { localpart: user.localpart, password: NEW_PASSWORD });
    const old = await server.api.post('/_matrix/client/v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.localpart }, password: user.password });
    assert.equal(old.status, 403);
  });

  test('signs out the other devices by default, and keeps them with logout_devices: false', async () => {
    const user = await registerUser(server);
    const other = await login(server, user);
    await user.api.post('/_matrix/client/v3/account/password', { new_password: NEW_PASSWORD, auth: passwordAuth(user) });
    assert.equal((await other.api.get('/_matrix/client/v3/account/whoami')).body.errcode, 'M_UNKNOWN_TOKEN');
    assert.equal((await user.api.get('/_matrix/client/v3/account/whoami')).status, 200);

    const keeper = await registerUser(server);
    const keptDevice = await login(server, keeper);
    await keeper.api.post('/_matrix/client/v3/account/password', { new_password: NEW_PASSWORD, logout_devices: false, auth: passwordAuth(keeper) });
    assert.equal((await keptDevice.api.get('/_matrix/client/v3/account/whoami')).status, 200);
  });

  test('the new password must satisfy the policy; nothing changes otherwise', async () => {
    const user = await registerUser(server);
    const res = await user.api.post('/_matrix/client/v3/account/password', { new_password: 'tiny', auth: passwordAuth(user) });
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_WEAK_PASSWORD');
    await login(server, user);
  });

  test('auth for another user is refused', async () => {
    const user = await registerUser(server);
    const other = await registerUser(server);
    const res = await user.api.post('/_matrix/client/v3/account/password', { new_password: NEW_PASSWORD, auth: passwordAuth(other) });
    assert.equal(res.status, 401);
    assert.equal(res.body.errcode, 'M_FORBIDDEN');
  });

  test('a UIA session cannot be carried over to another operation', async () => {
    const user = await registerUser(server);
    const challenge = await user.api.post('/_matrix/client/v3/account/password', { new_password: NEW_PASSWORD });
    const res = await user.api.post('/_matrix/client/v3/account/deactivate', { auth: passwordAuth(user, challenge.body.session) });
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_INVALID_PARAM');
    assert.equal((await user.api.get('/_matrix/client/v3/account/whoami')).status, 200);
  });

  test('a UIA session expires after 15 minutes', async () => {
    const user = await registerUser(server);
    const challenge = await user.api.post('/_matrix/client/v3/account/password', { new_password: NEW_PASSWORD });
    server.clock.advance(16 * 60_000);
    const res = await user.api.post('/_matrix/client/v3/account/password', { new_password: NEW_PASSWORD, auth: passwordAuth(user, challenge.body.session) });
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_INVALID_PARAM');
  });
});

describe('deactivating the account', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('ends every session, refuses sign-in, and keeps the user id reserved', async () => {
    const user = await registerUser(server);
    const other = await login(server, user);
    const challenge = await user.api.post('/_matrix/client/v3/account/deactivate', {});
    assert.equal(challenge.status, 401);
    const res = await user.api.post('/_matrix/client/v3/account/deactivate', { auth: passwordAuth(user, challenge.body.session) });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { id_server_unbind_result: 'no-support' });
    for (const api of [user.api, other.api]) {
      assert.equal((await api.get('/_matrix/client/v3/account/whoami')).body.errcode, 'M_UNKNOWN_TOKEN');
    }
    const relogin = await server.api.post('/_matrix/client/v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.localpart }, password: user.password });
    assert.equal(relogin.status, 403);
    const reuse = await server.api.get(`/_matrix/client/v3/register/available?username=${user.localpart}`);
    assert.equal(reuse.body.errcode, 'M_USER_IN_USE');
  });

  test('with erase: true the profile is cleared', async () => {
    const user = await registerUser(server);
    await user.api.post('/_matrix/client/v3/account/deactivate', { erase: true, auth: passwordAuth(user) });
    const record = await server.storage.users.get(user.userId);
    assert.equal(record?.deactivated, true);
    assert.equal(record?.displayname, null);
    assert.equal(record?.passwordHash, null);
  });

  test('a wrong password deactivates nothing', async () => {
    const user = await registerUser(server);
    const res = await user.api.post('/_matrix/client/v3/account/deactivate', { auth: { ...passwordAuth(user), password: 'wrong password!!' } });
    assert.equal(res.status, 401);
    assert.equal((await user.api.get('/_matrix/client/v3/account/whoami')).status, 200);
  });
});
