/**
 * Driving Matrix's OAuth 2.0 API in tests: register a client, build an authorization URL with PKCE,
 * sign in through the real sign-in page (password, then TOTP: enrolled on first use), and talk to
 * the token and revocation endpoints as a client does.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Browser, type Page } from './browser.ts';
import type { TestServer } from './server.ts';
import { shownRecoveryCodes, shownTotpSecret, submitPassword, totpCode } from './sign-in.ts';

export const CLIENT_URI = 'https://app.example.org/';
export const REDIRECT_URI = 'https://app.example.org/callback';

export interface Metadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  registration_endpoint: string;
  revocation_endpoint: string;
  [key: string]: unknown;
}

export async function authMetadata(server: TestServer): Promise<Metadata> {
  const res = await server.api.get('/_matrix/client/v1/auth_metadata');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as Metadata;
}

export async function postJson(url: string, body: unknown) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

export async function postForm(url: string, fields: Record<string, string>) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: new URLSearchParams(fields) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, any> };
}

export const webClient = (extra: Record<string, unknown> = {}) => ({
  client_name: 'Ward app',
  client_uri: CLIENT_URI,
  redirect_uris: [REDIRECT_URI],
  application_type: 'web',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'none',
  ...extra,
});

export async function registerClient(meta: Metadata, metadata: Record<string, unknown> = webClient()): Promise<string> {
  const res = await postJson(meta.registration_endpoint, metadata);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.client_id as string;
}

export function pkcePair() {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export const newDeviceId = () => `OAUTH${randomBytes(6).toString('hex').toUpperCase()}`;

export function authorizationUrl(meta: Metadata, clientId: string, o: { challenge: string; deviceId?: string; scope?: string; redirectUri?: string; state?: string; responseMode?: string }) {
  const url = new URL(meta.authorization_endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('response_mode', o.responseMode ?? 'query');
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('redirect_uri', o.redirectUri ?? REDIRECT_URI);
  url.searchParams.set('scope', o.scope ?? `urn:matrix:client:api:* urn:matrix:client:device:${o.deviceId ?? newDeviceId()}`);
  url.searchParams.set('state', o.state ?? 'state-1');
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('code_challenge', o.challenge);
  return url.toString();
}

/** A browser that follows redirects through the provider and the sign-in page, stopping when it leaves for the client. */
export const oauthBrowser = (server: TestServer) => new Browser(server.url, ['/_caduceus/sign-in', '/_caduceus/oauth2']);

/** The TOTP secrets of users who enrolled during these tests (a later sign-in answers with a code). */
const secrets = new Map<string, string>();

/** Passes the page's second step: enrols TOTP the first time, then answers with a code. */
export async function passSecondFactor(server: TestServer, browser: Browser, afterPassword: Page, localpart: string): Promise<Page> {
  let done: Page;
  if (/Set up a second factor/.test(afterPassword.html)) {
    const secret = shownTotpSecret(afterPassword);
    secrets.set(localpart, secret);
    const codes = await browser.submit(afterPassword, '/enroll/totp', { code: await totpCode(server, secret) });
    assert.equal(shownRecoveryCodes(codes).length, 10, codes.html.slice(0, 1500));
    done = await browser.submit(codes, '/continue');
  } else {
    const secret = secrets.get(localpart);
    assert.ok(secret, `no TOTP secret known for ${localpart}: ${afterPassword.html.slice(0, 1500)}`);
    done = await browser.submit(afterPassword, '/totp', { code: await totpCode(server, secret) });
  }
  // The next sign-in needs a code of a later time step.
  server.clock.advance(30_000);
  return done;
}

/** Opens the authorization URL, signs in with password and TOTP, and returns where the browser was sent back to. */
export async function signInForCode(server: TestServer, url: string, user: { localpart: string; password: string }): Promise<URL> {
  const browser = oauthBrowser(server);
  const page = await browser.get(url);
  assert.equal(page.status, 200, page.leftTo ?? page.html.slice(0, 1500));
  assert.match(page.url, /\/_caduceus\/sign-in$/);
  const done = await passSecondFactor(server, browser, await submitPassword(browser, page, user), user.localpart);
  assert.ok(done.leftTo, `expected a redirect back to the client, got ${done.status}: ${done.html.slice(0, 1500)}`);
  return new URL(done.leftTo);
}

/** The parameters the provider sent back (query or fragment). */
export function callbackParams(url: URL): URLSearchParams {
  return url.hash ? new URLSearchParams(url.hash.slice(1)) : url.searchParams;
}

export function exchangeCode(meta: Metadata, clientId: string, code: string, verifier: string, redirectUri = REDIRECT_URI) {
  return postForm(meta.token_endpoint, { grant_type: 'authorization_code', client_id: clientId, code, code_verifier: verifier, redirect_uri: redirectUri });
}

export function refresh(meta: Metadata, clientId: string, refreshToken: string) {
  return postForm(meta.token_endpoint, { grant_type: 'refresh_token', client_id: clientId, refresh_token: refreshToken });
}

export function revoke(meta: Metadata, clientId: string, token: string, hint?: string) {
  return postForm(meta.revocation_endpoint, { client_id: clientId, token, ...(hint ? { token_type_hint: hint } : {}) });
}

/** The whole dance for a signed-in OAuth session: client, page, code, tokens. */
export async function oauthSession(server: TestServer, meta: Metadata, user: { localpart: string; password: string }, clientId?: string) {
  clientId ??= await registerClient(meta);
  const { verifier, challenge } = pkcePair();
  const deviceId = newDeviceId();
  const back = await signInForCode(server, authorizationUrl(meta, clientId, { challenge, deviceId }), user);
  const code = callbackParams(back).get('code');
  assert.ok(code, back.toString());
  const tokens = await exchangeCode(meta, clientId, code, verifier);
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  return { clientId, deviceId, accessToken: tokens.body.access_token as string, refreshToken: tokens.body.refresh_token as string, tokens: tokens.body };
}
