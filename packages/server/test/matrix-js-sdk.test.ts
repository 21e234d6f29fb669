/**
 * End to end: a real matrix-js-sdk 43 client (the SDK Element Web is built on), with Rust crypto,
 * against a real Caduceus server. Every call below goes through the SDK's own request code, UIA
 * handling and error parsing, so a wrong status, field or error shape on our side shows up here the
 * way it would in an app.
 *
 * The first group follows one user through an account's life, step by step (the tests share state
 * and run in order): sign up on a phone, sign in on a laptop, manage devices, sign out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HttpApiEvent, type MatrixClient, type MatrixError } from 'matrix-js-sdk';
import { closeWithSdkClients, createSdkClient, matrixErrorOf, registerWithSdk, stopSdkClient, type SdkSession } from './support/sdk.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { registerUser, TEST_PASSWORD, uniqueName } from './support/users.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => closeWithSdkClients(server));

describe('one account through matrix-js-sdk, from sign-up to sign-out', () => {
  const username = uniqueName('sdk');
  const password = TEST_PASSWORD;
  let phone: MatrixClient;
  let phoneSession: SdkSession;
  let laptop: MatrixClient;
  let laptopSession: SdkSession;

  test('a new user signs up in the app, which gets past the dummy auth stage on its own and is signed in', async () => {
    const signup = await createSdkClient(server.url);
    const { response, authSent, challenge } = await registerWithSdk(signup, { username, password, deviceName: 'Phone' });
    stopSdkClient(signup);

    // The SDK asked for the flows first, then answered the dummy stage inside the server's session.
    assert.ok(challenge, 'the first /register answered 401 with UIA data');
    assert.ok(challenge.flows?.some((flow) => flow.stages.length === 1 && flow.stages[0] === 'm.login.dummy'), JSON.stringify(challenge));
    assert.equal(typeof challenge.session, 'string');
    assert.deepEqual(authSent, [null, { session: challenge.session, type: 'm.login.dummy' }]);

    assert.equal(response.user_id, `@${username}:test.local`);
    assert.equal(typeof response.access_token, 'string');
    assert.equal(typeof response.device_id, 'string');
    phoneSession = { userId: response.user_id, deviceId: response.device_id!, accessToken: response.access_token! };
    phone = await createSdkClient(server.url, phoneSession, { withCrypto: true });
    assert.equal(phone.getUserId(), phoneSession.userId);
  });

  test('signing in with the password on a laptop gives a second device, and the laptop starts its end-to-end encryption', async () => {
    const signin = await createSdkClient(server.url);
    const response = await signin.loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: username },
      password,
      initial_device_display_name: 'Laptop',
    });
    stopSdkClient(signin);
    assert.equal(response.user_id, phoneSession.userId);
    assert.notEqual(response.device_id, phoneSession.deviceId);
    assert.notEqual(response.access_token, phoneSession.accessToken);

    laptopSession = { userId: response.user_id, deviceId: response.device_id, accessToken: response.access_token };
    laptop = await createSdkClient(server.url, laptopSession, { withCrypto: true });
    const crypto = laptop.getCrypto();
    assert.ok(crypto, 'Rust crypto is running on the laptop');
    const keys = await crypto.getOwnDeviceKeys();
    assert.match(keys.ed25519, /^[A-Za-z0-9+/]{43}$/);
    assert.match(keys.curve25519, /^[A-Za-z0-9+/]{43}$/);
  });

  test('the laptop can ask who it is signed in as', async () => {
    const me = await laptop.whoami();
    assert.equal(me.user_id, laptopSession.userId);
    assert.equal(me.device_id, laptopSession.deviceId);
    assert.notEqual(me.is_guest, true);
  });

  test('the device list shows the phone and the laptop, and a rename is seen from the other device', async () => {
    const { devices } = await laptop.getDevices();
    const byId = new Map(devices.map((device) => [device.device_id, device]));
    assert.deepEqual([...byId.keys()].sort(), [phoneSession.deviceId, laptopSession.deviceId].sort());
    assert.equal(byId.get(phoneSession.deviceId)?.display_name, 'Phone');
    assert.equal(byId.get(laptopSession.deviceId)?.display_name, 'Laptop');

    assert.deepEqual(await laptop.setDeviceDetails(laptopSession.deviceId, { display_name: 'Work laptop' }), {});
    const seenFromPhone = await phone.getDevice(laptopSession.deviceId);
    assert.equal(seenFromPhone.device_id, laptopSession.deviceId);
    assert.equal(seenFromPhone.display_name, 'Work laptop');
  });

  test('removing the phone from the laptop asks for the password, and then the phone is signed out', async () => {
    // First try: no auth. The server answers with its UIA flows and a session, as the SDK expects.
    const challenge = await matrixErrorOf(laptop.deleteDevice(phoneSession.deviceId));
    assert.equal(challenge.httpStatus, 401);
    const flows = challenge.data.flows as { stages: string[] }[] | undefined;
    assert.ok(flows?.some((flow) => flow.stages.includes('m.login.password')), JSON.stringify(challenge.data));
    const session = challenge.data.session;
    assert.equal(typeof session, 'string');

    // The phone still works until the password is given.
    assert.equal((await phone.whoami()).device_id, phoneSession.deviceId);

    assert.deepEqual(
      await laptop.deleteDevice(phoneSession.deviceId, {
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: username },
        password,
        session,
      }),
      {},
    );

    // The phone app notices at its next request: 401 M_UNKNOWN_TOKEN, and the SDK's "logged out" event.
    const loggedOut = new Promise<MatrixError>((resolve) => phone.once(HttpApiEvent.SessionLoggedOut, resolve));
    const refused = await matrixErrorOf(phone.whoami());
    assert.equal(refused.httpStatus, 401);
    assert.equal(refused.errcode, 'M_UNKNOWN_TOKEN');
    assert.equal((await loggedOut).errcode, 'M_UNKNOWN_TOKEN');

    const { devices } = await laptop.getDevices();
    assert.deepEqual(
      devices.map((device) => device.device_id),
      [laptopSession.deviceId],
    );
  });

  test('signing out of the laptop makes its token useless', async () => {
    assert.deepEqual(await laptop.logout(), {});

    const refused = await matrixErrorOf(laptop.whoami());
    assert.equal(refused.httpStatus, 401);
    assert.equal(refused.errcode, 'M_UNKNOWN_TOKEN');

    const raw = await server.api.withToken(laptopSession.accessToken).get('/_matrix/client/v3/account/whoami');
    assert.equal(raw.status, 401);
    assert.equal(raw.body.errcode, 'M_UNKNOWN_TOKEN');
  });
});

describe('what a matrix-js-sdk app shows when sign-in or sign-up goes wrong', () => {
  test('a wrong password is refused with M_FORBIDDEN', async () => {
    const user = await registerUser(server);
    const client = await createSdkClient(server.url);
    const error = await matrixErrorOf(
      client.loginRequest({
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: user.localpart },
        password: 'not the password',
      }),
    );
    assert.equal(error.httpStatus, 403);
    assert.equal(error.errcode, 'M_FORBIDDEN');
    assert.equal(typeof error.data.error, 'string');
  });

  test('signing up with a user name someone already has is refused with M_USER_IN_USE', async () => {
    const taken = await registerUser(server);
    const client = await createSdkClient(server.url);
    const error = await matrixErrorOf(registerWithSdk(client, { username: taken.localpart, password: 'another password entirely' }));
    assert.equal(error.httpStatus, 400);
    assert.equal(error.errcode, 'M_USER_IN_USE');
  });
});

describe('older matrix-js-sdk apps', () => {
  test('an older app that signs in with the legacy top-level `user` field (loginWithPassword) still gets in', async () => {
    const user = await registerUser(server);
    const client = await createSdkClient(server.url);
    const response = await client.loginWithPassword(user.localpart, user.password);
    assert.equal(response.user_id, user.userId);
    assert.notEqual(response.device_id, user.deviceId);
    // loginWithPassword adopts the new token: the same client is now signed in.
    assert.equal((await client.whoami()).device_id, response.device_id);
  });
});
