import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from './support/server.ts';
import { login, registerUser } from './support/users.ts';

const passwordLogin = (server: TestServer, user: string, password: string, extra: Record<string, unknown> = {}) =>
  server.api.post('/_matrix/client/v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, ...extra });

describe('login and logout', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ public_url: 'https://chat.example.org' });
  });
  after(() => server.close());

  test('GET /login offers password login (mfa: optional on test servers) next to SSO', async () => {
    const res = await server.api.get('/_matrix/client/v3/login');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.flows.map((f: { type: string }) => f.type), ['m.login.sso', 'm.login.token', 'm.login.password']);
  });

  test('a user signs in with a localpart or a full user id and gets a new device', async () => {
    const user = await registerUser(server);
    const byLocalpart = await passwordLogin(server, user.localpart, user.password);
    assert.equal(byLocalpart.status, 200);
    assert.equal(byLocalpart.body.user_id, user.userId);
    assert.notEqual(byLocalpart.body.device_id, user.deviceId);
    assert.deepEqual(byLocalpart.body.well_known, { 'm.homeserver': { base_url: 'https://chat.example.org' } });
    const byUserId = await passwordLogin(server, user.userId, user.password);
    assert.equal(byUserId.status, 200);
    const devices = await user.api.get('/_matrix/client/v3/devices');
    assert.equal(devices.body.devices.length, 3);
  });

  test('the deprecated top-level "user" field still works', async () => {
    const user = await registerUser(server);
    const res = await server.api.post('/_matrix/client/v3/login', { type: 'm.login.password', user: user.localpart, password: user.password });
    assert.equal(res.status, 200);
  });

  test('wrong password and unknown user get the same M_FORBIDDEN', async () => {
    const user = await registerUser(server);
    const wrong = await passwordLogin(server, user.localpart, 'not the password at all');
    const unknown = await passwordLogin(server, 'nobody-here', 'not the password at all');
    assert.equal(wrong.status, 403);
    assert.equal(unknown.status, 403);
    assert.equal(wrong.body.errcode, 'M_FORBIDDEN');
    assert.deepEqual(wrong.body, unknown.body);
  });

  test('a user of another server cannot log in here', async () => {
    const res = await passwordLogin(server, '@someone:elsewhere.org', 'whatever password');
    assert.equal(res.status, 403);
  });

  test('unsupported login types and identifiers are refused clearly', async () => {
    const type = await server.api.post('/_matrix/client/v3/login', { type: 'm.login.fancy' });
    assert.equal(type.status, 400);
    assert.equal(type.body.errcode, 'M_UNKNOWN');
    const identifier = await server.api.post('/_matrix/client/v3/login', { type: 'm.login.password', identifier: { type: 'm.id.phone' }, password: 'x' });
    assert.equal(identifier.status, 400);
    const missing = await server.api.post('/_matrix/client/v3/login', { type: 'm.login.password', password: 'x' });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.errcode, 'M_MISSING_PARAM');
    const noType = await server.api.post('/_matrix/client/v3/login', { password: 'x' });
    assert.equal(noType.body.errcode, 'M_MISSING_PARAM');
  });

  test('logging in again with a known device id replaces that device\'s old token', async () => {
    const user = await registerUser(server);
    const first = await login(server, user, { device_id: 'PHONE1' });
    const second = await login(server, user, { device_id: 'PHONE1' });
    assert.equal(second.device_id, 'PHONE1');
    assert.equal((await first.api.get('/_matrix/client/v3/account/whoami')).body.errcode, 'M_UNKNOWN_TOKEN');
    assert.equal((await second.api.get('/_matrix/client/v3/account/whoami')).status, 200);
  });

  test('logout ends this session at once and deletes its device; others keep working', async () => {
    const user = await registerUser(server);
    const other = await login(server, user);
    const res = await user.api.post('/_matrix/client/v3/logout');
    assert.equal(res.status, 200);
    const after = await user.api.get('/_matrix/client/v3/account/whoami');
    assert.equal(after.status, 401);
    assert.equal(after.body.errcode, 'M_UNKNOWN_TOKEN');
    assert.equal(after.body.soft_logout, false);
    const devices = await other.api.get('/_matrix/client/v3/devices');
    assert.deepEqual(devices.body.devices.map((d: { device_id: string }) => d.device_id), [other.device_id]);
  });

  test('logout/all ends every session of the user, and nobody else\'s', async () => {
    const user = await registerUser(server);
    const second = await login(server, user);
    const bystander = await registerUser(server);
    assert.equal((await second.api.post('/_matrix/client/v3/logout/all')).status, 200);
    for (const api of [user.api, second.api]) {
      assert.equal((await api.get('/_matrix/client/v3/account/whoami')).body.errcode, 'M_UNKNOWN_TOKEN');
    }
    assert.equal((await bystander.api.get('/_matrix/client/v3/account/whoami')).status, 200);
  });

  test('requests without a token or with a malformed header are refused with M_MISSING_TOKEN', async () => {
    const none = await server.api.get('/_matrix/client/v3/account/whoami');
    assert.equal(none.status, 401);
    assert.equal(none.body.errcode, 'M_MISSING_TOKEN');
    const malformed = await server.api.request('GET', '/_matrix/client/v3/account/whoami', undefined, { Authorization: 'Basic abc' });
    assert.equal(malformed.body.errcode, 'M_MISSING_TOKEN');
  });

  test('a token in the URL is refused, so it never lands in proxy logs', async () => {
    const user = await registerUser(server);
    const res = await server.api.get(`/_matrix/client/v3/account/whoami?access_token=${user.accessToken}`);
    assert.equal(res.status, 401);
    assert.equal(res.body.errcode, 'M_MISSING_TOKEN');
    assert.match(res.body.error, /Authorization header/);
  });
});

describe('refresh tokens', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ access_token_lifetime_ms: 5 * 60_000 });
  });
  after(() => server.close());

  test('without refresh_token: true, tokens do not expire', async () => {
    const user = await registerUser(server);
    assert.equal(user.refreshToken, undefined);
    server.clock.advance(24 * 60 * 60_000);
    assert.equal((await user.api.get('/_matrix/client/v3/account/whoami')).status, 200);
  });

  test('a refreshable token expires with soft_logout, and the refresh token renews the session', async () => {
    const user = await registerUser(server, { refresh: true });
    assert.ok(user.refreshToken);
    server.clock.advance(5 * 60_000 + 1);
    const expired = await user.api.get('/_matrix/client/v3/account/whoami');
    assert.equal(expired.status, 401);
    assert.equal(expired.body.errcode, 'M_UNKNOWN_TOKEN');
    assert.equal(expired.body.soft_logout, true);

    const refreshed = await server.api.post('/_matrix/client/v3/refresh', { refresh_token: user.refreshToken });
    assert.equal(refreshed.status, 200);
    assert.equal(refreshed.body.expires_in_ms, 5 * 60_000);
    assert.notEqual(refreshed.body.refresh_token, user.refreshToken);
    const whoami = await server.api.withToken(refreshed.body.access_token).get('/_matrix/client/v3/account/whoami');
    assert.deepEqual(whoami.body, { user_id: user.userId, device_id: user.deviceId, is_guest: false });
  });

  test('a refresh token used twice ends the session (it must have been copied)', async () => {
    const user = await registerUser(server, { refresh: true });
    const first = await server.api.post('/_matrix/client/v3/refresh', { refresh_token: user.refreshToken });
    assert.equal(first.status, 200);
    const replay = await server.api.post('/_matrix/client/v3/refresh', { refresh_token: user.refreshToken });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.errcode, 'M_UNKNOWN_TOKEN');
    assert.equal(replay.body.soft_logout, false);
    const legit = await server.api.withToken(first.body.access_token).get('/_matrix/client/v3/account/whoami');
    assert.equal(legit.status, 401, 'the whole session ends, including the newer token');
    const next = await server.api.post('/_matrix/client/v1/refresh', { refresh_token: first.body.refresh_token });
    assert.equal(next.status, 401);
  });

  test('refreshing replaces the old access token', async () => {
    const user = await login(server, await registerUser(server), { refresh_token: true });
    assert.ok(user.refresh_token);
    assert.equal(user.expires_in_ms, 5 * 60_000);
    const refreshed = await server.api.post('/_matrix/client/v1/refresh', { refresh_token: user.refresh_token });
    assert.equal(refreshed.status, 200);
    assert.equal((await user.api.get('/_matrix/client/v3/account/whoami')).body.errcode, 'M_UNKNOWN_TOKEN');
  });

  test('unknown or malformed refresh tokens are refused', async () => {
    const unknown = await server.api.post('/_matrix/client/v3/refresh', { refresh_token: 'cadr_nope' });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.errcode, 'M_UNKNOWN_TOKEN');
    const missing = await server.api.post('/_matrix/client/v3/refresh', {});
    assert.equal(missing.status, 400);
    assert.equal(missing.body.errcode, 'M_MISSING_PARAM');
  });
});

describe('failed-login throttling', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ rate_limits: 'on' });
  });
  after(() => server.close());

  test('after five wrong passwords the account must wait, even with the right password', async () => {
    const user = await registerUser(server);
    for (let i = 0; i < 5; i++) {
      assert.equal((await passwordLogin(server, user.localpart, `wrong password ${i}`)).status, 403);
    }
    const throttled = await passwordLogin(server, user.localpart, user.password);
    assert.equal(throttled.status, 429);
    assert.equal(throttled.body.errcode, 'M_LIMIT_EXCEEDED');
    assert.ok(throttled.body.retry_after_ms > 0);
    assert.ok(Number(throttled.headers.get('retry-after')) >= 1);

    server.clock.advance(throttled.body.retry_after_ms + 1);
    const ok = await passwordLogin(server, user.localpart, user.password);
    assert.equal(ok.status, 200, 'after waiting, the right password works and clears the record');
    assert.equal((await passwordLogin(server, user.localpart, 'one more wrong')).status, 403);
  });

  test('another account from the same address is not locked by someone else\'s failures', async () => {
    const victim = await registerUser(server);
    const other = await registerUser(server);
    for (let i = 0; i < 7; i++) await passwordLogin(server, victim.localpart, `guess ${i}`);
    assert.equal((await passwordLogin(server, other.localpart, other.password)).status, 200);
  });
});
