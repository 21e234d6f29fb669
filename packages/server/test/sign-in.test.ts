/**
 * The sign-in page over real HTTP, as a browser drives it: password, then TOTP, a passkey or a
 * recovery code; enrolment on first sign-in; wrong and replayed codes; lockout; CSRF.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SoftwareAuthenticator } from './support/authenticator.ts';
import { sync } from './support/rooms.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { registerUser, type TestUser } from './support/users.ts';
import {
  CLIENT_ALLOWLIST,
  enrolTotp,
  loginTokenOf,
  openSignIn,
  redeemLoginToken,
  shownRecoveryCodes,
  submitPassword,
  totpCode,
  userWithRoles,
} from './support/sign-in.ts';

const auditEntries = async (server: TestServer, action: string) =>
  (await server.storage.audit.entries({ limit: 10_000 })).filter((e) => e.action === action);

describe('sign-in page with mandatory MFA', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ mfa: 'required', sso_redirect_allowlist: CLIENT_ALLOWLIST });
  });
  after(() => server.close());

  test('the page is plain HTML with labelled fields, no-store, no framing and no inline script', async () => {
    const { page } = await openSignIn(server);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(page.headers.get('cache-control'), 'no-store');
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.match(csp, /form-action 'self' https:\/\/app\.example\.org/);
    assert.match(page.html, /<label for="user">User name<\/label>/);
    assert.match(page.html, /<label for="password">Password<\/label>/);
    assert.doesNotMatch(page.html, /<script>/);
    assert.ok(page.forms[0]?.fields.csrf, 'every form carries the CSRF token');
    // The flow lives server-side: the URL carries nothing, the cookie is HttpOnly and SameSite=Lax.
    assert.equal(new URL(page.url).search, '');
  });

  test('first sign-in enrols TOTP, shows ten recovery codes once, and returns a login token that signs the client in', async () => {
    const user = await userWithRoles(server);
    const { browser, page } = await openSignIn(server);
    const enrol = await submitPassword(browser, page, user);
    assert.equal(enrol.status, 200);
    assert.match(enrol.html, /Set up a second factor/);
    assert.match(enrol.html, /<svg[^>]*>/, 'a QR code is shown');
    assert.match(enrol.html, /otpauth:\/\/totp\//);
    const secret = /data-totp-secret="([A-Z2-7]+)"/.exec(enrol.html)![1]!;

    const wrong = await browser.submit(enrol, '/enroll/totp', { code: '000000' === (await totpCode(server, secret)) ? '111111' : '000000' });
    assert.equal(wrong.status, 400);
    assert.match(wrong.html, /role="alert"/);
    assert.equal(/data-totp-secret="([A-Z2-7]+)"/.exec(wrong.html)![1], secret, 'the same key stays pending after a wrong code');

    const codesPage = await browser.submit(wrong, '/enroll/totp', { code: await totpCode(server, secret) });
    const codes = shownRecoveryCodes(codesPage);
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    const reloaded = await browser.get('/_caduceus/sign-in');
    assert.equal(shownRecoveryCodes(reloaded).length, 0, 'the codes are never shown again');

    const done = await browser.submit(reloaded, '/continue');
    const session = await redeemLoginToken(server, loginTokenOf(done));
    assert.equal(session.status, 200, JSON.stringify(session.body));
    assert.equal(session.body.user_id, user.userId);
    const whoami = await server.api.withToken(session.body.access_token).get('/_matrix/client/v3/account/whoami');
    assert.equal(whoami.body.user_id, user.userId);

    const stored = await server.storage.mfa.getTotp(user.userId);
    assert.ok(stored);
    assert.ok(!stored.secretEncrypted.includes(secret), 'the TOTP key is stored encrypted');
    assert.ok((await auditEntries(server, 'auth.mfa.enroll')).some((e) => JSON.parse(e.target).userId === user.userId));
  });

  test('password and a TOTP code sign in; the same code cannot be used twice', async () => {
    const user = await userWithRoles(server);
    const { secret } = await enrolTotp(server, user);

    const first = await openSignIn(server);
    const ask = await submitPassword(first.browser, first.page, user);
    assert.match(ask.html, /Confirm it is you/);
    const code = await totpCode(server, secret);
    const done = await first.browser.submit(ask, '/totp', { code });
    assert.equal((await redeemLoginToken(server, loginTokenOf(done))).status, 200);

    const second = await openSignIn(server);
    const askAgain = await submitPassword(second.browser, second.page, user);
    const replayed = await second.browser.submit(askAgain, '/totp', { code });
    assert.equal(replayed.status, 401);
    assert.match(replayed.html, /already used/);
    assert.equal(replayed.leftTo, undefined);

    server.clock.advance(30_000);
    const next = await second.browser.submit(replayed, '/totp', { code: await totpCode(server, secret) });
    assert.ok(loginTokenOf(next));
  });

  test('a wrong password or a wrong code is refused with a message and no token', async () => {
    const user = await userWithRoles(server);
    const { secret } = await enrolTotp(server, user);
    const { browser, page } = await openSignIn(server);
    const wrongPassword = await browser.submit(page, '/password', { user: user.localpart, password: 'not the password at all' });
    assert.equal(wrongPassword.status, 401);
    assert.match(wrongPassword.html, /Wrong user name or password/);
    assert.ok(wrongPassword.forms.some((f) => f.action.endsWith('/password')), 'the password form is shown again');

    const ask = await submitPassword(browser, wrongPassword, user);
    const good = await totpCode(server, secret);
    const wrongCode = await browser.submit(ask, '/totp', { code: good === '123456' ? '654321' : '123456' });
    assert.equal(wrongCode.status, 401);
    assert.match(wrongCode.html, /That code is not right/);
    assert.equal(wrongCode.leftTo, undefined);
    const failures = await auditEntries(server, 'auth.login');
    assert.ok(failures.some((e) => e.outcome === 'failure' && JSON.parse(e.details).reason === 'wrong_code'));
    assert.ok(!failures.some((e) => e.details.includes(good)), 'codes never reach the audit trail');
  });

  test('a recovery code works once, not twice', async () => {
    const user = await userWithRoles(server);
    const { recoveryCodes } = await enrolTotp(server, user);
    const code = recoveryCodes[3]!;

    const first = await openSignIn(server);
    const ask = await submitPassword(first.browser, first.page, user);
    assert.match(ask.html, /Use a recovery code \(10 left\)/);
    const done = await first.browser.submit(ask, '/recovery', { code: code.toUpperCase().replace(/-/g, ' ') });
    assert.equal((await redeemLoginToken(server, loginTokenOf(done))).status, 200);

    const second = await openSignIn(server);
    const askAgain = await submitPassword(second.browser, second.page, user);
    assert.match(askAgain.html, /9 left/);
    const reused = await second.browser.submit(askAgain, '/recovery', { code });
    assert.equal(reused.status, 401);
    assert.equal(reused.leftTo, undefined);
    const uses = (await auditEntries(server, 'auth.recovery_code')).filter((e) => JSON.parse(e.target).userId === user.userId);
    assert.deepEqual(uses.map((e) => e.outcome), ['success', 'failure']);
  });

  test('a passkey can be enrolled at first sign-in and then used as the second factor', async () => {
    const user = await userWithRoles(server);
    const key = new SoftwareAuthenticator(server.url);
    const first = await openSignIn(server);
    const enrol = await submitPassword(first.browser, first.page, user);
    const createForm = enrol.forms.find((f) => f.attributes['data-webauthn'] === 'create');
    assert.ok(createForm, 'the enrolment page offers a passkey');
    const codesPage = await first.browser.submit(enrol, '/enroll/webauthn', { credential: key.register(createForm.attributes['data-options']!) });
    assert.equal(shownRecoveryCodes(codesPage).length, 10, codesPage.html);
    loginTokenOf(await first.browser.submit(codesPage, '/continue'));

    const second = await openSignIn(server);
    const ask = await submitPassword(second.browser, second.page, user);
    const getForm = ask.forms.find((f) => f.attributes['data-webauthn'] === 'get');
    assert.ok(getForm, 'the page asks for the passkey');
    assert.equal(ask.forms.some((f) => f.action.endsWith('/totp')), false, 'no TOTP form for a user without TOTP');
    const done = await second.browser.submit(ask, '/webauthn', { credential: key.assert(getForm.attributes['data-options']!) });
    const session = await redeemLoginToken(server, loginTokenOf(done));
    assert.equal(session.body.user_id, user.userId);
  });

  test('a passkey assertion for another origin, an old challenge or a replayed counter is refused', async () => {
    const user = await userWithRoles(server);
    const key = new SoftwareAuthenticator(server.url);
    const first = await openSignIn(server);
    const enrol = await submitPassword(first.browser, first.page, user);
    const createForm = enrol.forms.find((f) => f.attributes['data-webauthn'] === 'create')!;
    const codes = await first.browser.submit(enrol, '/enroll/webauthn', { credential: key.register(createForm.attributes['data-options']!) });
    await first.browser.submit(codes, '/continue');

    const { browser, page } = await openSignIn(server);
    const ask = await submitPassword(browser, page, user);
    const options = ask.forms.find((f) => f.attributes['data-webauthn'] === 'get')!.attributes['data-options']!;
    const phishing = await browser.submit(ask, '/webauthn', { credential: key.assert(options, { origin: 'https://evil.example' }) });
    assert.equal(phishing.status, 401);
    const stale = await browser.submit(phishing, '/webauthn', { credential: key.assert(options) });
    assert.equal(stale.status, 401, 'each page shows a fresh challenge; the old one is gone');
    const garbage = await browser.submit(stale, '/webauthn', { credential: '{"not":"a credential"' });
    assert.equal(garbage.status, 401);
    const fresh = garbage.forms.find((f) => f.attributes['data-webauthn'] === 'get')!.attributes['data-options']!;
    loginTokenOf(await browser.submit(garbage, '/webauthn', { credential: key.assert(fresh, { signCount: 10 }) }));

    const later = await openSignIn(server);
    const askLater = await submitPassword(later.browser, later.page, user);
    const laterOptions = askLater.forms.find((f) => f.attributes['data-webauthn'] === 'get')!.attributes['data-options']!;
    const cloned = await later.browser.submit(askLater, '/webauthn', { credential: key.assert(laterOptions, { signCount: 4 }) });
    assert.equal(cloned.status, 401, 'a signature counter that went backwards means a cloned key');
  });

  test('forms without the CSRF token, or with another one, are refused', async () => {
    const user = await userWithRoles(server);
    const { browser, page } = await openSignIn(server);
    const missing = await browser.submit(page, '/password', { user: user.localpart, password: user.password }, ['csrf']);
    assert.equal(missing.status, 403);
    assert.match(missing.html, /not sent from this sign-in page/);
    const forged = await browser.submit(page, '/password', { user: user.localpart, password: user.password, csrf: 'csrf_forged' });
    assert.equal(forged.status, 403);
    // Without the flow cookie (another site posting the form) there is nothing to sign in to.
    const res = await fetch(`${server.url}/_caduceus/sign-in/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ user: user.localpart, password: user.password, csrf: page.forms[0]!.fields.csrf! }).toString(),
    });
    assert.equal(res.status, 400);
  });

  test('a flow expires after fifteen minutes', async () => {
    const user = await userWithRoles(server);
    const { browser, page } = await openSignIn(server);
    server.clock.advance(16 * 60_000);
    const late = await submitPassword(browser, page, user);
    assert.equal(late.status, 400);
    assert.match(late.html, /expired/);
  });
});

describe('sign-in lockout', () => {
  let server: TestServer;
  let officer: TestUser;
  before(async () => {
    server = await startTestServer({ mfa: 'required', sso_redirect_allowlist: CLIENT_ALLOWLIST, rate_limits: 'on' });
    officer = await registerUser(server);
    await server.storage.roles.setRoles(officer.userId, ['security_officer']);
  });
  after(() => server.close());

  /** The officer joins the server notices room they were invited to and reads the newest notice. */
  async function lockoutNoticeFor(reader: TestUser) {
    const first = await sync(reader);
    const roomId = Object.keys(first.rooms.invite)[0];
    assert.ok(roomId, 'the officer is invited to the server notices room');
    assert.equal((await reader.api.post(`/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`, {})).status, 200);
    const room = (await sync(reader)).rooms.join[roomId];
    const notices = room.timeline.events.filter((e: { type: string }) => e.type === 'm.room.message');
    assert.equal(notices.length, 1);
    return notices[0] as { content: { msgtype: string; body: string; server_notice_type: string } };
  }

  test('a lockout notice that cannot be sent is logged and on record, and the sign-in still answers', async () => {
    const notifier = server.services.mfa.lockoutNotices!;
    const notices = server.services.serverNotices;
    const original = notices.sendToRole;
    notices.sendToRole = async () => {
      throw new Error('notices room unavailable');
    };
    const logged: string[] = [];
    notifier.useLogger({ error: (_details, message) => logged.push(message) });
    try {
      const user = await userWithRoles(server);
      const { browser, page } = await openSignIn(server);
      let current = page;
      for (let attempt = 1; attempt <= 10; attempt++) {
        current = await browser.submit(current, '/password', { user: user.localpart, password: 'not the password at all' });
        assert.equal(current.status, 401, `attempt ${attempt}`);
        server.clock.advance(20_000);
      }
      await notifier.settled();
      assert.deepEqual(logged, ['telling the security officers about a lockout failed']);
      const failed = (await server.storage.audit.entries({ limit: 10_000 })).filter((e) => e.action === 'auth.lockout.notify');
      assert.equal(failed.length, 1);
      assert.equal(failed[0]!.outcome, 'failure');
      assert.equal(JSON.parse(failed[0]!.target).userId, user.userId);
    } finally {
      notices.sendToRole = original;
      notifier.useLogger({ error: () => {} });
    }
  });

  test('ten wrong codes lock the account out for fifteen minutes, on record', async () => {
    const user = await userWithRoles(server);
    const { secret } = await enrolTotp(server, user);
    const { browser, page } = await openSignIn(server);
    let current = await submitPassword(browser, page, user);
    const good = await totpCode(server, secret);
    const wrong = good === '000000' ? '111111' : '000000';
    for (let attempt = 1; attempt <= 10; attempt++) {
      current = await browser.submit(current, '/totp', { code: wrong });
      assert.equal(current.status, 401, `attempt ${attempt}`);
      // Past the free attempts each one waits longer (1 s, 2 s, ... 16 s); let the clock move on.
      server.clock.advance(20_000);
    }
    const locked = await browser.submit(current, '/totp', { code: await totpCode(server, secret) });
    assert.equal(locked.status, 429);
    assert.match(locked.html, /Too many failed attempts\. Try again in 15 minutes/);
    const password = await server.api.post('/_matrix/client/v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.localpart }, password: user.password });
    assert.equal(password.status, 429, 'the lockout covers every way in');

    const lockouts = (await server.storage.audit.entries({ limit: 10_000 })).filter((e) => e.action === 'auth.lockout' && JSON.parse(e.target).userId === user.userId);
    assert.equal(lockouts.length, 1);
    assert.equal(JSON.parse(lockouts[0]!.target).userId, user.userId);

    // The security officer hears of it in /sync: a server notice naming the account and the time.
    await server.services.mfa.lockoutNotices!.settled();
    const notice = await lockoutNoticeFor(officer);
    assert.equal(notice.content.msgtype, 'm.server_notice');
    assert.equal(notice.content.server_notice_type, 'org.caduceus.account_locked');
    assert.match(notice.content.body, new RegExp(`${user.userId.replace(/[.]/g, '\\.')} was locked out at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ`));
    assert.ok(!notice.content.body.includes(user.password) && !notice.content.body.includes(wrong), 'nothing typed is in the notice');

    server.clock.advance(15 * 60_000);
    const again = await openSignIn(server);
    const ask = await submitPassword(again.browser, again.page, user);
    assert.ok(loginTokenOf(await again.browser.submit(ask, '/totp', { code: await totpCode(server, secret) })));
  });
});
