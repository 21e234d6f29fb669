/**
 * The account page over real HTTP: reached only through a fresh sign-in (password and second
 * factor); add an authenticator app or a passkey, remove one (never the last when MFA is required),
 * make new recovery codes (shown once); every change on record.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SoftwareAuthenticator } from './support/authenticator.ts';
import { Browser, type Page } from './support/browser.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { CLIENT_ALLOWLIST, enrolTotp, loginTokenOf, openSignIn, shownRecoveryCodes, shownTotpSecret, submitPassword, totpCode, userWithRoles } from './support/sign-in.ts';
import type { TestUser } from './support/users.ts';

const ACCOUNT = '/_caduceus/sign-in/account';

const auditOf = async (server: TestServer, action: string, userId: string) =>
  (await server.storage.audit.entries({ limit: 10_000 })).filter((e) => e.action === action && JSON.parse(e.target).userId === userId);

/** Opens the account page as a person would: the page asks for a fresh sign-in first. */
async function openAccount(server: TestServer, user: TestUser, secondFactor: (page: Page, browser: Browser) => Promise<Page>): Promise<{ browser: Browser; page: Page }> {
  const browser = new Browser(server.url);
  const signIn = await browser.get(ACCOUNT);
  assert.equal(signIn.status, 200);
  assert.match(signIn.html, /<label for="password">/, 'the account page asks for a sign-in first');
  const asked = await submitPassword(browser, signIn, user);
  const page = await secondFactor(asked, browser);
  assert.equal(page.status, 200, page.html.slice(0, 500));
  assert.match(page.html, /Your sign-in methods/);
  return { browser, page };
}

const withTotp = (server: TestServer, secret: string) => async (page: Page, browser: Browser) => {
  assert.match(page.html, /Confirm it is you/);
  const done = await browser.submit(page, '/totp', { code: await totpCode(server, secret) });
  server.clock.advance(30_000);
  return done;
};

describe('account page with mfa: required', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ mfa: 'required', sso_redirect_allowlist: CLIENT_ALLOWLIST });
  });
  after(() => server.close());

  test('after password and TOTP, a person adds a passkey, removes the app, and cannot remove the last factor', async () => {
    const user = await userWithRoles(server);
    const { secret } = await enrolTotp(server, user);
    const { browser, page } = await openAccount(server, user, withTotp(server, secret));
    assert.match(page.html, /Authenticator app/);
    assert.equal(page.forms.filter((f) => f.action.endsWith('/account/remove')).length, 0, 'the only factor has no remove button');
    assert.ok(!page.forms.some((f) => f.action.endsWith('/account/totp')), 'no second authenticator app while one is set up');

    const key = new SoftwareAuthenticator(server.url);
    const create = page.forms.find((f) => f.attributes['data-webauthn'] === 'create');
    assert.ok(create, 'the page offers a passkey');
    const added = await browser.submit(page, '/account/webauthn', { credential: key.register(create.attributes['data-options']!) });
    assert.equal(added.status, 200);
    assert.match(added.html, /Passkey added/);
    assert.equal(shownRecoveryCodes(added).length, 0, 'the existing recovery codes stay; none are shown');
    assert.equal(added.forms.filter((f) => f.action.endsWith('/account/remove')).length, 2);

    const removed = await browser.submit(added, '/account/remove', { factor: 'totp' });
    assert.match(removed.html, /Authenticator app removed/);
    assert.equal(await server.storage.mfa.getTotp(user.userId), undefined);
    assert.equal(removed.forms.filter((f) => f.action.endsWith('/account/remove')).length, 0);

    // A hand-made form cannot remove the last one either.
    const credentialId = (await server.storage.mfa.listWebAuthnCredentials(user.userId))[0]!.credentialId;
    const forged = { ...removed, forms: [{ action: `${ACCOUNT}/remove`, method: 'post', attributes: {}, fields: { csrf: removed.forms[0]!.fields.csrf!, factor: 'webauthn', credential_id: credentialId } }] };
    const refused = await browser.submit(forged, '/account/remove');
    assert.equal(refused.status, 409);
    assert.match(refused.html, /only second factor/);
    assert.equal((await server.storage.mfa.listWebAuthnCredentials(user.userId)).length, 1);

    assert.equal((await auditOf(server, 'auth.mfa.enroll', user.userId)).map((e) => JSON.parse(e.details).factor).join(), 'totp,webauthn');
    assert.equal((await auditOf(server, 'auth.mfa.remove', user.userId)).length, 1);

    // The passkey now signs the person in.
    const next = await openSignIn(server);
    const ask = await submitPassword(next.browser, next.page, user);
    const get = ask.forms.find((f) => f.attributes['data-webauthn'] === 'get')!;
    loginTokenOf(await next.browser.submit(ask, '/webauthn', { credential: key.assert(get.attributes['data-options']!) }));
  });

  test('new recovery codes are shown once and the old ones stop working', async () => {
    const user = await userWithRoles(server);
    const { secret, recoveryCodes: old } = await enrolTotp(server, user);
    const { browser, page } = await openAccount(server, user, withTotp(server, secret));
    assert.match(page.html, /You have 10 unused recovery codes/);
    const fresh = await browser.submit(page, '/account/recovery-codes');
    const codes = shownRecoveryCodes(fresh);
    assert.equal(codes.length, 10);
    assert.ok(!codes.some((c) => old.includes(c)));
    const reloaded = await browser.get(ACCOUNT);
    assert.equal(shownRecoveryCodes(reloaded).length, 0, 'shown only once');
    assert.equal((await auditOf(server, 'auth.recovery_codes.regenerate', user.userId)).length, 1);

    const signIn = await openSignIn(server);
    const ask = await submitPassword(signIn.browser, signIn.page, user);
    assert.equal((await signIn.browser.submit(ask, '/recovery', { code: old[0]! })).status, 401, 'an old code is refused');
    loginTokenOf(await signIn.browser.submit(ask, '/recovery', { code: codes[0]! }));
  });

  test('the account page cannot be used without a finished fresh sign-in, nor with a forged form', async () => {
    const user = await userWithRoles(server);
    const { secret } = await enrolTotp(server, user);
    // Password typed, second factor not yet given: the flow is not an account page.
    const browser = new Browser(server.url);
    const signIn = await browser.get(ACCOUNT);
    const asked = await submitPassword(browser, signIn, user);
    const csrf = asked.forms[0]!.fields.csrf!;
    const early = await browser.submit({ ...asked, forms: [{ action: `${ACCOUNT}/recovery-codes`, method: 'post', attributes: {}, fields: { csrf } }] }, '/account/recovery-codes');
    assert.equal(early.status, 403);
    assert.equal(shownRecoveryCodes(early).length, 0);

    const { page } = await openAccount(server, user, withTotp(server, secret));
    const forged = await browser.submit({ ...page, forms: [{ ...page.forms.find((f) => f.action.endsWith('/recovery-codes'))!, fields: { csrf: 'csrf_forged' } }] }, '/recovery-codes');
    assert.equal(forged.status, 403);
    const noCookie = await fetch(`${server.url}${ACCOUNT}/recovery-codes`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: page.forms[0]!.fields.csrf! }).toString(),
    });
    assert.equal(noCookie.status, 400);
    assert.equal((await auditOf(server, 'auth.recovery_codes.regenerate', user.userId)).length, 0);
  });

  test('the account page ends with its sign-in: after fifteen minutes a new sign-in is asked for', async () => {
    const user = await userWithRoles(server);
    const { secret } = await enrolTotp(server, user);
    const { browser } = await openAccount(server, user, withTotp(server, secret));
    server.clock.advance(16 * 60_000);
    const again = await browser.get(ACCOUNT);
    assert.match(again.html, /<label for="password">/);
  });
});

describe('account page with mfa: optional', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ mfa: 'optional' });
  });
  after(() => server.close());

  test('a person without a second factor adds an authenticator app, gets recovery codes, and may remove it again', async () => {
    const user = await userWithRoles(server, ['clinician']);
    const { browser, page } = await openAccount(server, user, async (p) => p);
    assert.match(page.html, /You have no second factor yet\./);
    const secret = shownTotpSecret(page);
    const added = await browser.submit(page, '/account/totp', { code: await totpCode(server, secret) });
    assert.match(added.html, /Authenticator app added/);
    assert.equal(shownRecoveryCodes(added).length, 10, 'the first factor comes with recovery codes');
    assert.ok(await server.storage.mfa.getTotp(user.userId));

    const removed = await browser.submit(added, '/account/remove', { factor: 'totp' });
    assert.match(removed.html, /Authenticator app removed/);
    assert.equal(await server.storage.mfa.countUnusedRecoveryCodes(user.userId), 0, 'no codes without a factor');
    assert.equal((await auditOf(server, 'auth.mfa.remove', user.userId)).length, 1);
  });

  test('a wrong code does not add the authenticator app', async () => {
    const user = await userWithRoles(server, ['clinician']);
    const { browser, page } = await openAccount(server, user, async (p) => p);
    const good = await totpCode(server, shownTotpSecret(page));
    const wrong = await browser.submit(page, '/account/totp', { code: good === '123456' ? '654321' : '123456' });
    assert.equal(wrong.status, 400);
    assert.match(wrong.html, /That code is not right/);
    assert.equal(await server.storage.mfa.getTotp(user.userId), undefined);
  });
});
