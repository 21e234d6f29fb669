/**
 * Matrix's OAuth 2.0 API over HTTP: auth metadata, dynamic registration, authorization code with
 * PKCE through the real sign-in page (password + TOTP), refresh, revocation, and how OAuth sessions
 * live under the Matrix session rules (remote wipe, logout, automatic logoff).
 */
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isValidAuthMetadata } from 'matrix-js-sdk';
import { hashToken } from '../src/services/secrets.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { userWithRoles } from './support/sign-in.ts';
import type { TestUser } from './support/users.ts';
import {
  authMetadata,
  authorizationUrl,
  callbackParams,
  exchangeCode,
  newDeviceId,
  oauthBrowser,
  oauthSession,
  pkcePair,
  postJson,
  refresh,
  registerClient,
  revoke,
  signInForCode,
  webClient,
  type Metadata,
} from './support/oauth.ts';

async function whoami(server: TestServer, accessToken: string) {
  return server.api.withToken(accessToken).get('/_matrix/client/v3/account/whoami');
}

async function assertHardLogout(server: TestServer, accessToken: string, what: string) {
  const res = await whoami(server, accessToken);
  assert.equal(res.status, 401, `${what}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.errcode, 'M_UNKNOWN_TOKEN', what);
  assert.equal(res.body.soft_logout, false, what);
}

describe('OAuth 2.0 sign-in (mfa: required)', () => {
  let server: TestServer;
  let meta: Metadata;
  let user: TestUser;
  before(async () => {
    server = await startTestServer({ mfa: 'required' });
    meta = await authMetadata(server);
    user = await userWithRoles(server);
  });
  after(async () => {
    await server.close();
  });

  test('the auth metadata is what matrix-js-sdk requires, with PKCE S256, refresh, registration and revocation', async () => {
    assert.ok(isValidAuthMetadata(meta), JSON.stringify(meta));
    assert.equal(meta.issuer, `${server.url}/_caduceus/oauth2`);
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
    for (const endpoint of [meta.authorization_endpoint, meta.token_endpoint, meta.registration_endpoint, meta.revocation_endpoint]) {
      assert.ok(endpoint.startsWith(`${server.url}/_caduceus/oauth2/`), endpoint);
    }
    const discovery = await server.api.get('/_caduceus/oauth2/.well-known/openid-configuration');
    assert.equal(discovery.status, 200);
    assert.equal(discovery.body.issuer, meta.issuer);
    assert.equal(discovery.body.token_endpoint, meta.token_endpoint);
  });

  test('the password login flows stay advertised for legacy clients', async () => {
    const res = await server.api.get('/_matrix/client/v3/login');
    assert.equal(res.status, 200);
    assert.ok(res.body.flows.some((f: { type: string }) => f.type === 'm.login.sso'));
  });

  test('a full sign-in: code with PKCE through the page, tokens that work on the Matrix API for the device the scope names', async () => {
    const session = await oauthSession(server, meta, user);
    assert.equal(session.tokens.token_type, 'Bearer');
    assert.ok(session.refreshToken);
    assert.ok(Number(session.tokens.expires_in) > 0);
    assert.match(session.tokens.scope, new RegExp(`urn:matrix:client:device:${session.deviceId}`));
    const me = await whoami(server, session.accessToken);
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.user_id, user.userId);
    assert.equal(me.body.device_id, session.deviceId);
    const devices = await server.api.withToken(session.accessToken).get('/_matrix/client/v3/devices');
    const device = devices.body.devices.find((d: { device_id: string }) => d.device_id === session.deviceId);
    assert.equal(device?.display_name, 'Ward app', 'the device is named after the client');
  });

  test('refresh gives new tokens on the same device; the old refresh token is refused, and presenting it again ends the session', async () => {
    const session = await oauthSession(server, meta, user);
    const renewed = await refresh(meta, session.clientId, session.refreshToken);
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
    assert.notEqual(renewed.body.refresh_token, session.refreshToken, 'refresh tokens rotate');
    const me = await whoami(server, renewed.body.access_token);
    assert.equal(me.status, 200);
    assert.equal(me.body.device_id, session.deviceId);

    const replay = await refresh(meta, session.clientId, session.refreshToken);
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, 'invalid_grant');
    // A used refresh token coming back means it was copied: the whole session ends, as for /refresh.
    await assertHardLogout(server, renewed.body.access_token, 'the access token of a session whose refresh token was replayed');
    const after = await refresh(meta, session.clientId, renewed.body.refresh_token);
    assert.equal(after.body.error, 'invalid_grant');
  });

  test('revoking the access token ends the device: its tokens answer 401 and the refresh token is refused', async () => {
    const session = await oauthSession(server, meta, user);
    const res = await revoke(meta, session.clientId, session.accessToken, 'access_token');
    assert.equal(res.status, 200);
    await assertHardLogout(server, session.accessToken, 'a revoked access token');
    const again = await refresh(meta, session.clientId, session.refreshToken);
    assert.equal(again.body.error, 'invalid_grant');
    assert.equal(await server.storage.sessions.getDevice(user.userId, session.deviceId), undefined, 'the device is gone');
  });

  test('revoking the refresh token ends the session too; another client cannot revoke it', async () => {
    const session = await oauthSession(server, meta, user);
    const stranger = await registerClient(meta);
    assert.equal((await revoke(meta, stranger, session.refreshToken, 'refresh_token')).status, 200, 'RFC 7009 answers 200 either way');
    assert.equal((await whoami(server, session.accessToken)).status, 200, 'another client\'s revocation changed nothing');
    assert.equal((await revoke(meta, session.clientId, session.refreshToken, 'refresh_token')).status, 200);
    await assertHardLogout(server, session.accessToken, 'the access token after its refresh token was revoked');
  });

  test('a wrong PKCE verifier is refused, and a code works once', async () => {
    const clientId = await registerClient(meta);
    const { verifier, challenge } = pkcePair();
    const back = await signInForCode(server, authorizationUrl(meta, clientId, { challenge }), user);
    const code = callbackParams(back).get('code')!;
    const wrong = await exchangeCode(meta, clientId, code, pkcePair().verifier);
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, 'invalid_grant');
    const right = await exchangeCode(meta, clientId, code, verifier);
    assert.equal(right.status, 200, JSON.stringify(right.body));
    const twice = await exchangeCode(meta, clientId, code, verifier);
    assert.equal(twice.body.error, 'invalid_grant');
    // A code used twice was probably stolen: the tokens it gave are revoked with it.
    await assertHardLogout(server, right.body.access_token, 'the tokens of a code redeemed twice');
  });

  test('an authorization without PKCE, or with the plain method, is refused', async () => {
    const clientId = await registerClient(meta);
    const url = new URL(authorizationUrl(meta, clientId, { challenge: 'x' }));
    url.searchParams.delete('code_challenge');
    url.searchParams.delete('code_challenge_method');
    const without = await fetch(url, { redirect: 'manual' });
    assert.equal(new URL(without.headers.get('location')!).searchParams.get('error'), 'invalid_request');
    url.searchParams.set('code_challenge', pkcePair().challenge);
    url.searchParams.set('code_challenge_method', 'plain');
    const plain = await fetch(url, { redirect: 'manual' });
    assert.equal(new URL(plain.headers.get('location')!).searchParams.get('error'), 'invalid_request');
  });

  test('an unregistered redirect URI is refused on the server\'s own page, without redirecting', async () => {
    const clientId = await registerClient(meta);
    for (const redirectUri of ['https://evil.example/callback', 'https://app.example.org/other']) {
      const res = await fetch(authorizationUrl(meta, clientId, { challenge: pkcePair().challenge, redirectUri }), { redirect: 'manual' });
      assert.equal(res.status, 400, redirectUri);
      assert.equal(res.headers.get('location'), null);
      assert.match(await res.text(), /redirect_uri/);
    }
  });

  test('a sign-in started in one browser cannot be continued from another', async () => {
    const clientId = await registerClient(meta);
    const start = await fetch(authorizationUrl(meta, clientId, { challenge: pkcePair().challenge }), { redirect: 'manual' });
    const interaction = start.headers.get('location')!;
    assert.match(interaction, /\/_caduceus\/oauth2\/interaction\//);
    const stranger = await fetch(new URL(interaction, server.url), { redirect: 'manual' });
    assert.equal(stranger.status, 400, 'no interaction cookie: no sign-in page');
    assert.equal(stranger.headers.getSetCookie().length, 0);
    assert.match(await stranger.text(), /expired or was not started in this browser/);
  });

  test('a request without the Matrix API scope or a valid device scope goes back to the client as invalid_scope', async () => {
    const clientId = await registerClient(meta);
    for (const scope of ['urn:matrix:client:device:ABCDEFGHIJ', 'urn:matrix:client:api:*', 'urn:matrix:client:api:* urn:matrix:client:device:short', 'urn:matrix:client:api:* urn:matrix:client:device:AAAAAAAAAA urn:matrix:client:device:BBBBBBBBBB']) {
      const page = await oauthBrowser(server).get(authorizationUrl(meta, clientId, { challenge: pkcePair().challenge, scope }));
      assert.ok(page.leftTo, scope);
      assert.ok(page.leftTo.startsWith('https://app.example.org/callback'), page.leftTo);
      assert.equal(callbackParams(new URL(page.leftTo)).get('error'), 'invalid_scope', scope);
    }
  });

  test('the unstable MSC2967 scope spelling works too (matrix-rust-sdk clients)', async () => {
    const clientId = await registerClient(meta);
    const { verifier, challenge } = pkcePair();
    const deviceId = newDeviceId();
    const scope = `urn:matrix:org.matrix.msc2967.client:api:* urn:matrix:org.matrix.msc2967.client:device:${deviceId}`;
    const back = await signInForCode(server, authorizationUrl(meta, clientId, { challenge, scope, responseMode: 'fragment' }), user);
    const tokens = await exchangeCode(meta, clientId, callbackParams(back).get('code')!, verifier);
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    assert.equal((await whoami(server, tokens.body.access_token)).body.device_id, deviceId);
  });

  test('dynamic registration takes public web and native clients and refuses the rest', async () => {
    const native = await postJson(meta.registration_endpoint, webClient({ application_type: 'native', redirect_uris: ['org.example.app:/callback', 'http://127.0.0.1/callback'] }));
    assert.equal(native.status, 201, JSON.stringify(native.body));
    assert.equal(native.body.token_endpoint_auth_method, 'none');
    assert.equal(native.body.client_secret, undefined);
    const refused: Array<[string, Record<string, unknown>]> = [
      ['no client_uri', webClient({ client_uri: undefined })],
      ['http client_uri', webClient({ client_uri: 'http://app.example.org/' })],
      ['a redirect on another host', webClient({ redirect_uris: ['https://evil.example/callback'] })],
      ['a web redirect over http', webClient({ redirect_uris: ['http://app.example.org/callback'] })],
      ['a native scheme of another domain', webClient({ application_type: 'native', redirect_uris: ['com.evil.app:/callback'] })],
      ['a confidential client', webClient({ token_endpoint_auth_method: 'client_secret_basic' })],
      ['too many redirect URIs', webClient({ redirect_uris: Array.from({ length: 11 }, (_, i) => `https://app.example.org/cb${i}`) })],
    ];
    for (const [what, metadata] of refused) {
      const res = await postJson(meta.registration_endpoint, metadata);
      assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error, /^invalid_(client_metadata|redirect_uri)$/, what);
    }
  });

  test('remote wipe of the device kills its OAuth tokens with soft_logout false', async () => {
    const session = await oauthSession(server, meta, user);
    assert.ok(await server.services.sessions.wipeDevice(user.userId, session.deviceId));
    await assertHardLogout(server, session.accessToken, 'the wiped device');
    const res = await refresh(meta, session.clientId, session.refreshToken);
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_grant');
  });

  test('/logout with an OAuth token ends the session and revokes the refresh token; /refresh knows no OAuth refresh token', async () => {
    const session = await oauthSession(server, meta, user);
    const legacy = await server.api.post('/_matrix/client/v3/refresh', { refresh_token: session.refreshToken });
    assert.equal(legacy.status, 401);
    assert.equal(legacy.body.errcode, 'M_UNKNOWN_TOKEN');
    assert.equal((await whoami(server, session.accessToken)).status, 200, 'a refused /refresh leaves the session alone');
    const out = await server.api.withToken(session.accessToken).post('/_matrix/client/v3/logout');
    assert.equal(out.status, 200);
    await assertHardLogout(server, session.accessToken, 'a logged-out OAuth token');
    assert.equal((await refresh(meta, session.clientId, session.refreshToken)).body.error, 'invalid_grant');
  });

  test('a second sign-in naming the same device replaces the first OAuth session of that device', async () => {
    const first = await oauthSession(server, meta, user);
    const { verifier, challenge } = pkcePair();
    const back = await signInForCode(server, authorizationUrl(meta, first.clientId, { challenge, deviceId: first.deviceId }), user);
    const second = await exchangeCode(meta, first.clientId, callbackParams(back).get('code')!, verifier);
    assert.equal(second.status, 200);
    assert.equal((await whoami(server, second.body.access_token)).body.device_id, first.deviceId);
    assert.equal((await whoami(server, first.accessToken)).status, 401);
    assert.equal((await refresh(meta, first.clientId, first.refreshToken)).body.error, 'invalid_grant');
  });

  test('the provider\'s keys persist in the data folder, readable by the server only', async () => {
    const file = join(server.dataDir, 'oauth-keys.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const keys = JSON.parse(await readFile(file, 'utf8'));
    const jwks = JSON.parse((await server.api.get('/_caduceus/oauth2/jwks')).body);
    assert.equal(jwks.keys[0].kid, keys.jwks.keys[0].kid);
    assert.equal(jwks.keys[0].d, undefined, 'only the public key is published');
  });

  test('the OAuth table keeps tokens only as hashes', async () => {
    const session = await oauthSession(server, meta, user);
    for (const [model, token] of [['AccessToken', session.accessToken], ['RefreshToken', session.refreshToken]] as const) {
      const record = await server.storage.oauth.find(model, hashToken(token));
      assert.ok(record, model);
      assert.ok(!record.payload.includes(token), `the ${model} record does not carry the token`);
    }
  });
});

describe('OAuth sessions under automatic logoff', () => {
  let server: TestServer;
  let meta: Metadata;
  let user: TestUser;
  before(async () => {
    server = await startTestServer({ mfa: 'required', session_idle_timeout: '15m', session_max_lifetime: '8h' });
    meta = await authMetadata(server);
    user = await userWithRoles(server);
  });
  after(async () => {
    await server.close();
  });

  test('an expired OAuth access token answers soft logout, and a refresh while the session is alive restores access', async () => {
    const session = await oauthSession(server, meta, user);
    server.clock.advance(6 * 60_000);
    const expired = await whoami(server, session.accessToken);
    assert.equal(expired.status, 401);
    assert.equal(expired.body.soft_logout, true, 'an expired access token keeps the local data');
    const renewed = await refresh(meta, session.clientId, session.refreshToken);
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
    assert.equal((await whoami(server, renewed.body.access_token)).status, 200);
  });

  test('after the idle timeout the session ends: soft logout on the API, and the refresh token is refused', async () => {
    const session = await oauthSession(server, meta, user);
    server.clock.advance(16 * 60_000);
    const idle = await whoami(server, session.accessToken);
    assert.equal(idle.status, 401);
    assert.equal(idle.body.soft_logout, true);
    const res = await refresh(meta, session.clientId, session.refreshToken);
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_grant');
  });

  test('the absolute lifetime holds however often the client refreshes', async () => {
    const session = await oauthSession(server, meta, user);
    let refreshToken = session.refreshToken;
    let minutes = 0;
    // Active every ten minutes, so never idle: only the eight-hour lifetime can end it.
    while (minutes < 10 * 60) {
      server.clock.advance(10 * 60_000);
      minutes += 10;
      const renewed = await refresh(meta, session.clientId, refreshToken);
      if (renewed.status !== 200) {
        assert.equal(renewed.body.error, 'invalid_grant');
        break;
      }
      refreshToken = renewed.body.refresh_token;
      assert.equal((await whoami(server, renewed.body.access_token)).status, 200);
    }
    assert.ok(minutes > 8 * 60 - 10 && minutes <= 8 * 60 + 10, `the session ended after ${minutes} minutes`);
  });
});
