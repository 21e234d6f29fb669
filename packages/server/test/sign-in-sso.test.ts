/**
 * Matrix SSO through the sign-in page: what GET /login advertises, the redirect allow-list, the
 * login token (single use, two minutes), the MFA policy for m.login.password, and matrix-js-sdk.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { closeWithSdkClients, createSdkClient } from './support/sdk.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { CLIENT_ALLOWLIST, CLIENT_URL, enrolTotp, loginTokenOf, openSignIn, redeemLoginToken, submitPassword, totpCode, userWithRoles } from './support/sign-in.ts';
import { login } from './support/users.ts';

const ssoRedirect = (server: TestServer, redirectUrl: string) =>
  fetch(`${server.url}/_matrix/client/v3/login/sso/redirect?redirectUrl=${encodeURIComponent(redirectUrl)}`, { redirect: 'manual' });

const passwordLogin = (server: TestServer, user: { localpart: string; password: string }) =>
  server.api.post('/_matrix/client/v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.localpart }, password: user.password });

describe('Matrix SSO with mfa: required', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ mfa: 'required', sso_redirect_allowlist: CLIENT_ALLOWLIST });
  });
  after(() => closeWithSdkClients(server));

  test('GET /login offers SSO and login tokens, and no password login while no service account exists', async () => {
    const res = await server.api.get('/_matrix/client/v3/login');
    assert.equal(res.status, 200);
    const types = res.body.flows.map((f: { type: string }) => f.type);
    assert.deepEqual(types, ['m.login.sso', 'm.login.token']);
    assert.deepEqual(res.body.flows[0].identity_providers.map((p: { id: string }) => p.id), ['caduceus']);
  });

  test('the SSO redirect sets a short-lived HttpOnly SameSite=Lax cookie and sends the browser to the page', async () => {
    const res = await ssoRedirect(server, CLIENT_URL);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/_caduceus/sign-in');
    const cookie = res.headers.getSetCookie()[0] ?? '';
    assert.match(cookie, /^caduceus_sign_in=cads_[\w-]+;/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    assert.match(cookie, /Path=\/_caduceus\/sign-in/);
    assert.match(cookie, /Max-Age=900/);
    assert.doesNotMatch(cookie, /Secure/, 'plain http test server');
  });

  test('redirect URLs off the allow-list are refused', async () => {
    for (const url of [
      'https://evil.example/after-login',
      'https://app.example.org.evil.example/',
      'https://user:pass@app.example.org/',
      'http://app.example.org/after-login',
      'javascript:alert(1)',
      'not a url',
    ]) {
      const res = await ssoRedirect(server, url);
      assert.equal(res.status, 400, url);
      const body = (await res.json()) as { errcode: string };
      assert.equal(body.errcode, 'M_INVALID_PARAM', url);
      assert.equal(res.headers.getSetCookie().length, 0, url);
    }
    const missing = await server.api.get('/_matrix/client/v3/login/sso/redirect');
    assert.equal(missing.status, 400);
    assert.equal(missing.body.errcode, 'M_MISSING_PARAM');
  });

  test('the identity-provider form of the redirect works for this server\'s provider only', async () => {
    const ok = await fetch(`${server.url}/_matrix/client/v3/login/sso/redirect/caduceus?redirectUrl=${encodeURIComponent(CLIENT_URL)}`, { redirect: 'manual' });
    assert.equal(ok.status, 302);
    const unknown = await server.api.get(`/_matrix/client/v3/login/sso/redirect/okta?redirectUrl=${encodeURIComponent(CLIENT_URL)}`);
    assert.equal(unknown.status, 404);
  });

  test('the login token keeps the client\'s own query, works once, and names the device the client asks for', async () => {
    const user = await userWithRoles(server);
    const { loginToken } = await enrolTotp(server, user);
    const first = await redeemLoginToken(server, loginToken, { device_id: 'SSODEVICE', initial_device_display_name: 'Ward tablet' });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.device_id, 'SSODEVICE');
    const again = await redeemLoginToken(server, loginToken);
    assert.equal(again.status, 403);
    assert.equal(again.body.errcode, 'M_FORBIDDEN');
    const stored = await server.storage.signIn.takeLoginToken(createHash('sha256').update(loginToken).digest('base64url'));
    assert.equal(stored, undefined, 'the used token is gone from the database');
  });

  test('a login token expires after two minutes', async () => {
    const user = await userWithRoles(server);
    const { secret } = await enrolTotp(server, user);
    const { browser, page } = await openSignIn(server);
    const ask = await submitPassword(browser, page, user);
    const token = loginTokenOf(await browser.submit(ask, '/totp', { code: await totpCode(server, secret) }));
    server.clock.advance(2 * 60_000 + 1_000);
    const late = await redeemLoginToken(server, token);
    assert.equal(late.status, 403);
    assert.equal(late.body.errcode, 'M_FORBIDDEN');
    const made = await redeemLoginToken(server, 'cadl_madeup');
    assert.equal(made.status, 403);
    const missing = await server.api.post('/_matrix/client/v3/login', { type: 'm.login.token' });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.errcode, 'M_MISSING_PARAM');
  });

  test('password login is refused with an error naming SSO, but still allowed for a service account', async () => {
    const person = await userWithRoles(server, ['clinician']);
    const refused = await passwordLogin(server, person);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.errcode, 'M_FORBIDDEN');
    assert.match(refused.body.error, /m\.login\.sso/);
    assert.match(refused.body.error, /second factor/);

    const bot = await userWithRoles(server, ['service']);
    const allowed = await passwordLogin(server, bot);
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
    const flows = await server.api.get('/_matrix/client/v3/login');
    assert.ok(flows.body.flows.some((f: { type: string }) => f.type === 'm.login.password'), 'listed now that a service account may use it');
  });

  test('registration makes the account but hands out no session: the person signs in through SSO and enrols', async () => {
    const body = { username: `reg${process.pid}${Date.now() % 100000}`, password: 'correct horse battery staple' };
    const challenge = await server.api.post('/_matrix/client/v3/register', body);
    assert.equal(challenge.status, 401);
    const done = await server.api.post('/_matrix/client/v3/register', { ...body, auth: { type: 'm.login.dummy', session: challenge.body.session } });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.user_id, `@${body.username}:test.local`);
    assert.equal(done.body.access_token, undefined, 'no token without a second factor');
    assert.equal(done.body.device_id, undefined);
    assert.equal(done.body['org.caduceus.sign_in_required'].login_type, 'm.login.sso');
    assert.equal((await server.storage.sessions.listDevices(done.body.user_id)).length, 0, 'no device was made');

    const refused = await passwordLogin(server, { localpart: body.username, password: body.password });
    assert.equal(refused.status, 403);
    const { browser, page } = await openSignIn(server);
    const enrol = await submitPassword(browser, page, { localpart: body.username, password: body.password });
    assert.match(enrol.html, /Set up a second factor/);
  });

  test('matrix-js-sdk signs in with the login token', async () => {
    const user = await userWithRoles(server);
    const { loginToken } = await enrolTotp(server, user);
    const client = await createSdkClient(server.url);
    const ssoUrl = client.getSsoLoginUrl(CLIENT_URL);
    assert.ok(ssoUrl.startsWith(`${server.url}/_matrix/client/v3/login/sso/redirect?`), ssoUrl);
    const response = await client.loginWithToken(loginToken);
    assert.equal(response.user_id, user.userId);
    assert.ok(response.access_token);
  });
});

describe('Matrix SSO with mfa: optional', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ mfa: 'optional' });
  });
  after(() => server.close());

  test('by default only the server\'s own public URL may receive a login token', async () => {
    assert.equal((await ssoRedirect(server, `${server.url}/web/#/login`)).status, 302);
    assert.equal((await ssoRedirect(server, 'https://app.example.org/after-login')).status, 400);
  });

  test('a user without a second factor is offered one, may skip it and sign in with the password alone, and may still use m.login.password', async () => {
    const user = await userWithRoles(server, ['clinician']);
    const { browser, page } = await openSignIn(server, `${server.url}/callback`);
    const offer = await submitPassword(browser, page, user);
    assert.equal(offer.leftTo, undefined, 'enrolment is offered first');
    assert.match(offer.html, /Set one up now, or skip this for now/);
    assert.ok(offer.forms.some((f) => f.action.endsWith('/enroll/totp')));
    const done = await browser.submit(offer, '/skip');
    const token = loginTokenOf(done, `${server.url}/callback`);
    assert.equal((await redeemLoginToken(server, token)).status, 200);
    await login(server, user);
    const flows = await server.api.get('/_matrix/client/v3/login');
    assert.deepEqual(flows.body.flows.map((f: { type: string }) => f.type), ['m.login.sso', 'm.login.token', 'm.login.password']);
  });

  test('a user who takes up the offer enrols TOTP and is asked for it from then on', async () => {
    const user = await userWithRoles(server, ['clinician']);
    const first = await openSignIn(server, `${server.url}/callback`);
    const offer = await submitPassword(first.browser, first.page, user);
    const secret = /data-totp-secret="([A-Z2-7]+)"/.exec(offer.html)![1]!;
    const codes = await first.browser.submit(offer, '/enroll/totp', { code: await totpCode(server, secret) });
    loginTokenOf(await first.browser.submit(codes, '/continue'), `${server.url}/callback`);
    const second = await openSignIn(server, `${server.url}/callback`);
    assert.match((await submitPassword(second.browser, second.page, user)).html, /Confirm it is you/);
  });

  test('the skip button does nothing where a second factor is required', async () => {
    const admin = await userWithRoles(server, ['admin']);
    const { browser, page } = await openSignIn(server, `${server.url}/callback`);
    const enrol = await submitPassword(browser, page, admin);
    assert.ok(!enrol.forms.some((f) => f.action.endsWith('/skip')), 'no skip button');
    const forced = await browser.submit({ ...enrol, forms: [{ ...enrol.forms[0]!, action: '/_caduceus/sign-in/skip' }] }, '/skip');
    assert.equal(forced.leftTo, undefined);
    assert.match(forced.html, /Your organisation requires a second factor/);
  });

  test('administrators and security officers must still enrol and cannot use a password', async () => {
    for (const role of ['admin', 'security_officer'] as const) {
      const user = await userWithRoles(server, [role]);
      const refused = await passwordLogin(server, user);
      assert.equal(refused.status, 403, role);
      const { browser, page } = await openSignIn(server, `${server.url}/callback`);
      const enrol = await submitPassword(browser, page, user);
      assert.match(enrol.html, /Set up a second factor/, role);
    }
  });
});
