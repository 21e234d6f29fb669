import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from './support/server.ts';
import { TEST_PASSWORD, registerUser, uniqueName } from './support/users.ts';

const register = (server: TestServer, body: Record<string, unknown>, query = '') => server.api.post(`/_matrix/client/v3/register${query}`, body);

describe('registration when open (development mode)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ registration: 'open' });
  });
  after(() => server.close());

  test('a first request without auth is answered 401 with the dummy flow and a session', async () => {
    const res = await register(server, { username: uniqueName(), password: TEST_PASSWORD });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(res.body.flows, [{ stages: ['m.login.dummy'] }]);
    assert.equal(typeof res.body.session, 'string');
    assert.deepEqual(res.body.completed, []);
    assert.equal(res.body.errcode, undefined);
  });

  test('completing the dummy stage creates the account and signs it in', async () => {
    const localpart = uniqueName();
    const user = await registerUser(server, { localpart });
    assert.equal(user.userId, `@${localpart}:test.local`);
    assert.match(user.accessToken, /^cad_/);
    const whoami = await user.api.get('/_matrix/client/v3/account/whoami');
    assert.equal(whoami.status, 200);
    assert.deepEqual(whoami.body, { user_id: user.userId, device_id: user.deviceId, is_guest: false });
  });

  test('upper-case user names are folded to lower case', async () => {
    const name = uniqueName('Mixed');
    const user = await registerUser(server, { localpart: name });
    assert.equal(user.userId, `@${name.toLowerCase()}:test.local`);
  });

  test('the auth dict may be sent on the first request without a session', async () => {
    const res = await register(server, { username: uniqueName(), password: TEST_PASSWORD, auth: { type: 'm.login.dummy' } });
    assert.equal(res.status, 200);
    assert.ok(res.body.access_token);
  });

  test('inhibit_login creates the account without a session', async () => {
    const res = await register(server, { username: uniqueName(), password: TEST_PASSWORD, inhibit_login: true, auth: { type: 'm.login.dummy' } });
    assert.equal(res.status, 200);
    assert.ok(res.body.user_id);
    assert.equal(res.body.access_token, undefined);
    assert.equal(res.body.device_id, undefined);
  });

  test('the client may choose its device id and display name', async () => {
    const res = await register(server, {
      username: uniqueName(),
      password: TEST_PASSWORD,
      device_id: 'WARDPC7',
      initial_device_display_name: 'Ward 7 PC',
      auth: { type: 'm.login.dummy' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.device_id, 'WARDPC7');
    const device = await server.api.withToken(res.body.access_token).get('/_matrix/client/v3/devices/WARDPC7');
    assert.equal(device.body.display_name, 'Ward 7 PC');
  });

  test('a taken user name is refused with M_USER_IN_USE before any auth', async () => {
    const user = await registerUser(server);
    const res = await register(server, { username: user.localpart, password: TEST_PASSWORD });
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_USER_IN_USE');
  });

  test('two simultaneous registrations of one name: exactly one wins', async () => {
    const username = uniqueName();
    const attempt = () => register(server, { username, password: TEST_PASSWORD, auth: { type: 'm.login.dummy' } });
    const results = await Promise.all([attempt(), attempt(), attempt()]);
    assert.equal(results.filter((r) => r.status === 200).length, 1);
    for (const r of results.filter((r) => r.status !== 200)) assert.equal(r.body.errcode, 'M_USER_IN_USE');
  });

  test('invalid user names are refused with M_INVALID_USERNAME', async () => {
    for (const username of ['has space', 'émile', 'colon:name', '', 'x'.repeat(300)]) {
      const res = await register(server, { username, password: TEST_PASSWORD });
      assert.equal(res.status, 400, username);
      assert.equal(res.body.errcode, 'M_INVALID_USERNAME', username);
    }
  });

  test('a weak password is refused with M_WEAK_PASSWORD naming the rule', async () => {
    const res = await register(server, { username: uniqueName(), password: 'short' });
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_WEAK_PASSWORD');
    assert.match(res.body.error, /at least 12 characters/);
    assert.doesNotMatch(res.body.error, /short/);
  });

  test('a password containing the user name is refused', async () => {
    const username = uniqueName('nurse');
    const res = await register(server, { username, password: `my-${username}-password` });
    assert.equal(res.body.errcode, 'M_WEAK_PASSWORD');
  });

  test('a missing password is refused once auth is complete', async () => {
    const res = await register(server, { username: uniqueName(), auth: { type: 'm.login.dummy' } });
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_MISSING_PARAM');
  });

  test('an unknown session is refused; a stage that is not offered is refused', async () => {
    const unknown = await register(server, { username: uniqueName(), password: TEST_PASSWORD, auth: { type: 'm.login.dummy', session: 'nope' } });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.errcode, 'M_INVALID_PARAM');
    const wrongStage = await register(server, { username: uniqueName(), password: TEST_PASSWORD, auth: { type: 'm.login.registration_token', token: 'x' } });
    assert.equal(wrongStage.status, 401);
    assert.equal(wrongStage.body.errcode, 'M_UNRECOGNIZED');
    assert.deepEqual(wrongStage.body.flows, [{ stages: ['m.login.dummy'] }]);
  });

  test('guest registration is refused', async () => {
    const res = await register(server, {}, '?kind=guest');
    assert.equal(res.status, 403);
    assert.equal(res.body.errcode, 'M_GUEST_ACCESS_FORBIDDEN');
    const bad = await register(server, {}, '?kind=robot');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errcode, 'M_INVALID_PARAM');
  });

  test('register/available says whether a name is free', async () => {
    const free = await server.api.get(`/_matrix/client/v3/register/available?username=${uniqueName()}`);
    assert.equal(free.status, 200);
    assert.deepEqual(free.body, { available: true });
    const user = await registerUser(server);
    const taken = await server.api.get(`/_matrix/client/v3/register/available?username=${user.localpart}`);
    assert.equal(taken.status, 400);
    assert.equal(taken.body.errcode, 'M_USER_IN_USE');
    const invalid = await server.api.get('/_matrix/client/v3/register/available?username=bad%20name');
    assert.equal(invalid.body.errcode, 'M_INVALID_USERNAME');
    const missing = await server.api.get('/_matrix/client/v3/register/available');
    assert.equal(missing.status, 400);
    assert.equal(missing.body.errcode, 'M_MISSING_PARAM');
  });

  test('passwords are stored as argon2id hashes, never in clear', async () => {
    const user = await registerUser(server);
    const record = await server.storage.users.get(user.userId);
    assert.match(record!.passwordHash!, /^\$argon2id\$/);
    assert.ok(!record!.passwordHash!.includes(user.password));
  });

  test('access tokens are stored only as hashes', async () => {
    const user = await registerUser(server);
    const { hashToken } = await import('../src/services/secrets.ts');
    assert.ok(await server.storage.sessions.findAccessToken(hashToken(user.accessToken)));
    assert.equal(await server.storage.sessions.findAccessToken(user.accessToken), undefined);
  });
});

describe('registration when closed (the default)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ registration: 'closed' });
  });
  after(() => server.close());

  test('registering is refused with M_FORBIDDEN', async () => {
    const res = await register(server, { username: uniqueName(), password: TEST_PASSWORD, auth: { type: 'm.login.dummy' } });
    assert.equal(res.status, 403);
    assert.equal(res.body.errcode, 'M_FORBIDDEN');
  });

  test('availability and token validity are refused too', async () => {
    const available = await server.api.get(`/_matrix/client/v3/register/available?username=${uniqueName()}`);
    assert.equal(available.status, 403);
    const validity = await server.api.get('/_matrix/client/v1/register/m.login.registration_token/validity?token=abc');
    assert.equal(validity.status, 403);
    assert.equal(validity.body.errcode, 'M_FORBIDDEN');
  });
});

describe('registration with registration tokens', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ registration: 'token' });
  });
  after(() => server.close());

  const tokenStage = async (token: string, username = uniqueName()) => {
    const first = await register(server, { username, password: TEST_PASSWORD });
    assert.equal(first.status, 401);
    assert.deepEqual(first.body.flows, [{ stages: ['m.login.registration_token'] }]);
    return register(server, { username, password: TEST_PASSWORD, auth: { type: 'm.login.registration_token', token, session: first.body.session } });
  };

  test('a valid token registers; a single-use token works exactly once', async () => {
    const { token } = await server.services.registrationTokens.create({ usesAllowed: 1 });
    const validity = await server.api.get(`/_matrix/client/v1/register/m.login.registration_token/validity?token=${token}`);
    assert.deepEqual(validity.body, { valid: true });
    const ok = await tokenStage(token);
    assert.equal(ok.status, 200);
    assert.ok(ok.body.access_token);
    const again = await tokenStage(token);
    assert.equal(again.status, 401);
    assert.equal(again.body.errcode, 'M_FORBIDDEN');
    const after = await server.api.get(`/_matrix/client/v1/register/m.login.registration_token/validity?token=${token}`);
    assert.deepEqual(after.body, { valid: false });
  });

  test('a single-use token raced by two registrations admits only one', async () => {
    const { token } = await server.services.registrationTokens.create({ usesAllowed: 1 });
    const sessions = await Promise.all(
      [uniqueName(), uniqueName()].map(async (username) => {
        const first = await register(server, { username, password: TEST_PASSWORD });
        const staged = await register(server, { username, password: TEST_PASSWORD, auth: { type: 'm.login.registration_token', token, session: first.body.session } });
        return { username, staged };
      }),
    );
    // Both may have passed the stage check; the account creation spends the token atomically.
    const results = sessions.map((s) => s.staged.status);
    assert.equal(results.filter((s) => s === 200).length, 1, JSON.stringify(sessions.map((s) => s.staged.body)));
  });

  test('an unknown or expired token is refused and nothing is created', async () => {
    const username = uniqueName();
    const unknown = await tokenStage('no-such-token', username);
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.errcode, 'M_FORBIDDEN');
    assert.equal(await server.storage.users.get(`@${username}:test.local`), undefined);

    const { token } = await server.services.registrationTokens.create({ expiryTs: server.clock.now() + 60_000 });
    server.clock.advance(61_000);
    const expired = await tokenStage(token);
    assert.equal(expired.body.errcode, 'M_FORBIDDEN');
  });

  test('dummy auth is not enough when tokens are required', async () => {
    const res = await register(server, { username: uniqueName(), password: TEST_PASSWORD, auth: { type: 'm.login.dummy' } });
    assert.equal(res.status, 401);
    assert.equal(res.body.errcode, 'M_UNRECOGNIZED');
  });
});
