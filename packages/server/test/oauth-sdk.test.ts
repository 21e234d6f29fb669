/**
 * matrix-js-sdk's own OAuth 2.0 support against the server, as Element Web does it: discover the
 * auth metadata, register dynamically, authorize with PKCE (the person signs in on the page with
 * password and TOTP), exchange the code, then a MatrixClient that syncs, refreshes its expired
 * access token by itself, and logs out by revoking its tokens. matrix-js-sdk v43 talks OAuth with
 * plain fetch, so no browser globals are needed in Node.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient, OAuth2, type AccessTokens, type MatrixClient } from 'matrix-js-sdk';
import { createSdkClient, startSdkClient, stopSdkClients } from './support/sdk.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { userWithRoles } from './support/sign-in.ts';
import { callbackParams, CLIENT_URI, REDIRECT_URI, signInForCode } from './support/oauth.ts';

describe('matrix-js-sdk signs in with OAuth 2.0 and keeps its session by refreshing', () => {
  let server: TestServer;
  let client: MatrixClient | undefined;
  before(async () => {
    server = await startTestServer({ mfa: 'required' });
  });
  after(async () => {
    client?.stopClient();
    client?.http.abort();
    stopSdkClients();
    await server.close();
  });

  test('register, authorize, exchange, sync, refresh on expiry, and log out by revocation', async () => {
    const user = await userWithRoles(server);
    const anonymous = await createSdkClient(server.url);
    const metadata = await anonymous.getAuthMetadata();

    const clientId = await OAuth2.registerClient(metadata, { client_name: 'Ward messenger', client_uri: CLIENT_URI, redirect_uris: [REDIRECT_URI], application_type: 'web' });
    const oauth = new OAuth2(metadata, { clientId });
    const url = await oauth.generateAuthorizationCodeGrantUrl('state-sdk', REDIRECT_URI);
    assert.equal(new URL(url).searchParams.get('response_mode'), 'fragment');

    const back = await signInForCode(server, url, user);
    const params = callbackParams(back);
    assert.equal(params.get('state'), 'state-sdk');
    const tokens = await oauth.completeAuthorizationCodeGrant(params.get('code')!, REDIRECT_URI);
    assert.ok(tokens.refresh_token);

    const refreshed: AccessTokens[] = [];
    client = createClient({
      baseUrl: server.url,
      userId: user.userId,
      deviceId: oauth.context.deviceId,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      oauthClientId: clientId,
      onTokenRefresh: (t) => {
        refreshed.push(t);
      },
    });
    await startSdkClient(client, { initialSyncLimit: 1 });
    const me = await client.whoami();
    assert.equal(me.device_id, oauth.context.deviceId, 'the device is the one the SDK put in the scope');

    // The access token expires (five minutes): the SDK refreshes on the soft logout and carries on.
    server.clock.advance(6 * 60_000);
    const again = await client.whoami();
    assert.equal(again.user_id, user.userId);
    assert.ok(refreshed.length >= 1, 'the SDK refreshed its tokens');
    const latest = refreshed.at(-1)!;
    assert.notEqual(latest.accessToken, tokens.access_token);
    assert.equal((await server.api.withToken(latest.accessToken).get('/_matrix/client/v3/account/whoami')).status, 200);

    // logout() of an OAuth session revokes both tokens at the revocation endpoint.
    await client.logout(true);
    const gone = await server.api.withToken(latest.accessToken).get('/_matrix/client/v3/account/whoami');
    assert.equal(gone.status, 401);
    assert.equal(gone.body.errcode, 'M_UNKNOWN_TOKEN');
    assert.equal(gone.body.soft_logout, false);
    assert.equal(await server.storage.sessions.getDevice(user.userId, oauth.context.deviceId), undefined);
  });
});
