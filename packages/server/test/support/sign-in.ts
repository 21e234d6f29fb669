/** Driving the sign-in page in tests: start an SSO sign-in, pass each step, take the login token. */
import assert from 'node:assert/strict';
import { generate } from 'otplib';
import type { Role } from '@caduceus/core';
import { Browser, type Page } from './browser.ts';
import type { TestServer } from './server.ts';
import { registerUser, type TestUser } from './users.ts';
import type { Api } from './api.ts';

/** The client app the tests sign in for; on the test servers' allow-list. */
export const CLIENT_URL = 'https://app.example.org/after-login?state=xyz';
export const CLIENT_ALLOWLIST = ['https://app.example.org/'];

export async function userWithRoles(server: TestServer, roles: Role[] = []): Promise<TestUser> {
  const user = await registerUser(server);
  if (roles.length > 0) await server.storage.roles.setRoles(user.userId, roles);
  return user;
}

/** Opens the page the way a Matrix client does: GET /login/sso/redirect, following to the page. */
export async function openSignIn(server: TestServer, redirectUrl = CLIENT_URL): Promise<{ browser: Browser; page: Page }> {
  const browser = new Browser(server.url);
  const page = await browser.get(`/_matrix/client/v3/login/sso/redirect?redirectUrl=${encodeURIComponent(redirectUrl)}`);
  assert.equal(page.status, 200, page.html);
  return { browser, page };
}

export function submitPassword(browser: Browser, page: Page, user: { localpart: string; password: string }) {
  return browser.submit(page, '/password', { user: user.localpart, password: user.password });
}

/** The code an authenticator app shows at the server's (manual) clock, `offsetMs` later. */
export function totpCode(server: TestServer, secret: string, offsetMs = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor((server.clock.now() + offsetMs) / 1000) });
}

/** The TOTP key shown on the enrolment page. */
export function shownTotpSecret(page: Page): string {
  const match = /data-totp-secret="([A-Z2-7]+)"/.exec(page.html);
  assert.ok(match, 'the enrolment page shows a TOTP key');
  return match[1]!;
}

export function shownRecoveryCodes(page: Page): string[] {
  return [...page.html.matchAll(/<li><code>([a-z0-9-]+)<\/code><\/li>/g)].map((m) => m[1]!);
}

/** The loginToken of the redirect back to the client. */
export function loginTokenOf(page: Page, expectedPrefix = 'https://app.example.org/after-login'): string {
  assert.ok(page.leftTo, `expected a redirect back to the client, got ${page.status}: ${page.html.slice(0, 1500)}`);
  assert.ok(page.leftTo.startsWith(expectedPrefix), page.leftTo);
  const token = new URL(page.leftTo).searchParams.get('loginToken');
  assert.ok(token);
  return token;
}

export function redeemLoginToken(server: TestServer, token: string, extra: Record<string, unknown> = {}) {
  return server.api.post('/_matrix/client/v3/login', { type: 'm.login.token', token, ...extra });
}

/** A first sign-in that enrols TOTP; returns the secret and the recovery codes shown once. */
export async function enrolTotp(server: TestServer, user: TestUser): Promise<{ secret: string; recoveryCodes: string[]; loginToken: string }> {
  const { browser, page } = await openSignIn(server);
  const enrol = await submitPassword(browser, page, user);
  assert.match(enrol.html, /Set up a second factor/);
  const secret = shownTotpSecret(enrol);
  const codesPage = await browser.submit(enrol, '/enroll/totp', { code: await totpCode(server, secret) });
  const recoveryCodes = shownRecoveryCodes(codesPage);
  assert.equal(recoveryCodes.length, 10, codesPage.html);
  const done = await browser.submit(codesPage, '/continue');
  // Each later sign-in needs a code of a later time step than the one just used.
  server.clock.advance(30_000);
  return { secret, recoveryCodes, loginToken: loginTokenOf(done) };
}

/**
 * Signs a user in as a Matrix client must when a second factor is required (administrators always):
 * through the page, enrolling TOTP on first use, back to the server's own URL (on the default
 * allow-list), then m.login.token. Returns the session like `login()` does.
 */
export async function signInWithSecondFactor(server: TestServer, user: { localpart: string; password: string }) {
  const redirectUrl = `${server.url}/signed-in`;
  const { browser, page } = await openSignIn(server, redirectUrl);
  const enrol = await submitPassword(browser, page, user);
  const secret = shownTotpSecret(enrol);
  const codes = await browser.submit(enrol, '/enroll/totp', { code: await totpCode(server, secret) });
  const token = loginTokenOf(await browser.submit(codes, '/continue'), redirectUrl);
  server.clock.advance(30_000);
  const res = await redeemLoginToken(server, token);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { ...res.body, api: server.api.withToken(res.body.access_token) } as { user_id: string; access_token: string; device_id: string; api: Api };
}
