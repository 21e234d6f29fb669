/**
 * Re-authentication for sensitive actions when the user is subject to MFA: user-interactive auth
 * offers m.login.sso (not the password); its fallback page is the sign-in page for that same user,
 * and its last page tells the client with the spec's authDone snippet.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { Browser } from './support/browser.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { CLIENT_ALLOWLIST, enrolTotp, submitPassword, totpCode, userWithRoles } from './support/sign-in.ts';
import { login, passwordAuth, registerUser, type TestUser } from './support/users.ts';

const fallbackUrl = (session: string) => `/_matrix/client/v3/auth/m.login.sso/fallback/web?session=${enc(session)}`;
const SSO_ONLY = [{ stages: ['m.login.sso'] }];

/** Asks to sign out `deviceId` without auth: the 401 that names the flows and the session. */
async function deleteChallenge(user: TestUser, deviceId: string) {
  const res = await user.api.delete(`/_matrix/client/v3/devices/${enc(deviceId)}`, {});
  assert.equal(res.status, 401, JSON.stringify(res.body));
  return res.body as { flows: Array<{ stages: string[] }>; session: string; completed?: string[] };
}

/** Confirms a UIA session in a browser: password and TOTP on the fallback page. */
async function confirmInBrowser(server: TestServer, user: TestUser, secret: string, session: string) {
  const browser = new Browser(server.url);
  const page = await browser.get(fallbackUrl(session));
  assert.equal(page.status, 200, page.html);
  const ask = await submitPassword(browser, page, user);
  assert.match(ask.html, /Confirm it is you/);
  const done = await browser.submit(ask, '/totp', { code: await totpCode(server, secret) });
  server.clock.advance(30_000);
  return { page, done };
}

describe('re-authentication with mfa: required', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ mfa: 'required', sso_redirect_allowlist: CLIENT_ALLOWLIST });
  });
  after(() => server.close());

  test('deleting a device asks for m.login.sso; the fallback page signs that user in and tells the client; the retry succeeds', async () => {
    const user = await registerUser(server);
    const { secret } = await enrolTotp(server, user);
    const other = await server.services.sessions.create(server.storage, user.userId, { refreshable: false });

    const challenge = await deleteChallenge(user, other.deviceId);
    assert.deepEqual(challenge.flows, SSO_ONLY, 'no password stage for a user subject to MFA');
    const byPassword = await user.api.delete(`/_matrix/client/v3/devices/${enc(other.deviceId)}`, { auth: passwordAuth(user, challenge.session) });
    assert.equal(byPassword.status, 401);
    assert.equal(byPassword.body.errcode, 'M_UNRECOGNIZED');
    const early = await user.api.delete(`/_matrix/client/v3/devices/${enc(other.deviceId)}`, { auth: { type: 'm.login.sso', session: challenge.session } });
    assert.equal(early.status, 401, 'naming the stage does not complete it');
    assert.equal(early.body.errcode, 'M_FORBIDDEN');

    const { page, done } = await confirmInBrowser(server, user, secret, challenge.session);
    assert.match(page.html, /To sign out devices, confirm it is you/);
    assert.match(page.html, new RegExp(`value="${user.userId}" readonly`));
    assert.equal(done.status, 200, done.html);
    assert.match(done.url, /\/_caduceus\/sign-in\/confirmed$/);
    assert.match(done.html, /<script src="\/_caduceus\/sign-in\/static\/auth-done\.js" defer><\/script>/);
    const script = await (await fetch(`${server.url}/_caduceus/sign-in/static/auth-done.js`)).text();
    assert.match(script, /window\.onAuthDone\(\)/);
    assert.match(script, /window\.opener\.postMessage\('authDone', '\*'\)/);

    const retried = await user.api.delete(`/_matrix/client/v3/devices/${enc(other.deviceId)}`, { auth: { session: challenge.session } });
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal(await server.storage.sessions.getDevice(user.userId, other.deviceId), undefined);
    const reauth = (await server.storage.audit.entries({ limit: 10_000 })).filter((e) => e.action === 'auth.reauth' && JSON.parse(e.target).userId === user.userId);
    assert.deepEqual(reauth.map((e) => [e.outcome, JSON.parse(e.details).method]), [['success', 'm.login.sso']]);
  });

  test('only the session\'s own user can confirm it: someone else\'s password and code do not', async () => {
    const owner = await registerUser(server);
    const intruder = await userWithRoles(server);
    const challenge = await deleteChallenge(owner, owner.deviceId);
    const browser = new Browser(server.url);
    const page = await browser.get(fallbackUrl(challenge.session));
    const refused = await submitPassword(browser, page, intruder);
    assert.equal(refused.status, 401);
    assert.match(refused.html, /Wrong user name or password/);
    assert.ok(!refused.forms.some((f) => f.action.endsWith('/totp')));
    const retried = await owner.api.delete(`/_matrix/client/v3/devices/${enc(owner.deviceId)}`, { auth: { session: challenge.session } });
    assert.equal(retried.status, 401);
  });

  test('an unknown or finished session has no fallback page; other stages have none either', async () => {
    assert.equal((await server.api.get(fallbackUrl('nosuchsession'))).status, 404);
    assert.equal((await server.api.get('/_matrix/client/v3/auth/m.login.password/fallback/web?session=x')).status, 404);
    assert.equal((await server.api.get('/_matrix/client/v3/auth/m.login.sso/fallback/web')).status, 400);
  });

  test('password change, deactivation, cross-signing keys and device wipe ask for m.login.sso too', async () => {
    const user = await registerUser(server);
    const masterKey = () => {
      const key = randomBytes(32).toString('base64').replace(/=+$/, '');
      return { master_key: { user_id: user.userId, usage: ['master'], keys: { [`ed25519:${key}`]: key } } };
    };
    // The first cross-signing keys need no confirmation; replacing them does.
    assert.equal((await user.api.post('/_matrix/client/v3/keys/device_signing/upload', masterKey())).status, 200);
    const attempts = [
      user.api.post('/_matrix/client/v3/account/password', { new_password: 'another horse battery staple' }),
      user.api.post('/_matrix/client/v3/account/deactivate', {}),
      user.api.post('/_matrix/client/v3/keys/device_signing/upload', masterKey()),
      user.api.post('/_caduceus/client/v1/devices/wipe', { device_ids: [user.deviceId] }),
    ];
    for (const res of await Promise.all(attempts)) {
      assert.equal(res.status, 401, JSON.stringify(res.body));
      assert.deepEqual(res.body.flows, SSO_ONLY);
    }
  });

  test('a service account keeps the password stage', async () => {
    const bot = await userWithRoles(server, ['service']);
    const session = await login(server, bot);
    const challenge = await session.api.delete(`/_matrix/client/v3/devices/${enc(session.device_id)}`, {});
    assert.deepEqual(challenge.body.flows, [{ stages: ['m.login.password'] }]);
    const done = await session.api.delete(`/_matrix/client/v3/devices/${enc(session.device_id)}`, { auth: passwordAuth({ userId: bot.userId, password: bot.password }, challenge.body.session) });
    assert.equal(done.status, 200, JSON.stringify(done.body));
  });
});

describe('re-authentication with mfa: optional', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ mfa: 'optional' });
  });
  after(() => server.close());

  test('a user not subject to MFA re-authenticates with the password; an administrator must use SSO', async () => {
    const user = await registerUser(server);
    assert.deepEqual((await deleteChallenge(user, user.deviceId)).flows, [{ stages: ['m.login.password'] }]);
    const admin = await registerUser(server);
    await server.storage.roles.setRoles(admin.userId, ['admin']);
    assert.deepEqual((await deleteChallenge(admin, admin.deviceId)).flows, SSO_ONLY);
  });
});
