import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HttpApiEvent, MatrixError, type MatrixClient } from 'matrix-js-sdk';
import { enc, type Api } from './support/api.ts';
import { sync } from './support/rooms.ts';
import { closeWithSdkClients, createSdkClient, expectSdkErrors, sdkSessionOf, startSdkClient } from './support/sdk.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { login, passwordAuth, registerUser, type TestUser } from './support/users.ts';

const WIPE = '/_caduceus/client/v1/devices/wipe';

// The SDK logs the hard logout of a wiped client as a /sync error: that is what these tests cause.
expectSdkErrors(/\/sync error .*M_UNKNOWN_TOKEN.*ended remotely/);

/** Asserts the token gets a hard logout: M_UNKNOWN_TOKEN, soft_logout false (the client erases its data). */
async function assertWiped(api: Api, what: string) {
  const res = await api.get('/_matrix/client/v3/account/whoami');
  assert.equal(res.status, 401, `${what}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.errcode, 'M_UNKNOWN_TOKEN', what);
  assert.equal(res.body.soft_logout, false, what);
  return res.body.error as string;
}

async function assertRefreshRevoked(server: TestServer, refreshToken: string) {
  const res = await server.api.post('/_matrix/client/v3/refresh', { refresh_token: refreshToken });
  assert.equal(res.status, 401);
  assert.equal(res.body.errcode, 'M_UNKNOWN_TOKEN');
  assert.equal(res.body.soft_logout, false);
}

/** Wipes through the user-facing endpoint, answering the password stage. */
async function wipeAsUser(user: TestUser, body: Record<string, unknown>) {
  const challenge = await user.api.post(WIPE, body);
  assert.equal(challenge.status, 401, JSON.stringify(challenge.body));
  assert.deepEqual(challenge.body.flows, [{ stages: ['m.login.password'] }]);
  return user.api.post(WIPE, { ...body, auth: passwordAuth(user, challenge.body.session) });
}

/** A matrix-js-sdk client that syncs as `session`, and the first "session logged out" error it reports. */
async function syncingClient(server: TestServer, session: { userId: string; deviceId: string; accessToken: string }) {
  const client = await createSdkClient(server.url, sdkSessionOf(session));
  const loggedOut = new Promise<MatrixError>((resolve) => client.once(HttpApiEvent.SessionLoggedOut, (error: MatrixError) => resolve(error)));
  await startSdkClient(client, { initialSyncLimit: 1 });
  return { client, loggedOut };
}

/** Resolves with the value, or rejects after `ms` naming `what`. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    }),
  ]);
}

describe('remote wipe by the user, from another signed-in device', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => closeWithSdkClients(server));

  test('wiping one device ends it at once (soft_logout false, refresh revoked) and leaves the others alone', async () => {
    const user = await registerUser(server);
    const lost = await login(server, user, { refresh_token: true, initial_device_display_name: 'Lost phone' });
    const tablet = await login(server, user);
    const res = await wipeAsUser(user, { device_ids: [lost.device_id] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.wiped, [lost.device_id]);
    const message = await assertWiped(lost.api, 'the wiped phone');
    assert.match(message, /erase local data/);
    await assertRefreshRevoked(server, lost.refresh_token!);
    for (const api of [user.api, tablet.api]) assert.equal((await api.get('/_matrix/client/v3/account/whoami')).status, 200);
    const devices = (await user.api.get('/_matrix/client/v3/devices')).body.devices.map((d: { device_id: string }) => d.device_id);
    assert.ok(!devices.includes(lost.device_id), 'the wiped device is gone from the list');
  });

  test('all_other ends every session but the caller\'s', async () => {
    const user = await registerUser(server);
    const others = [await login(server, user, { refresh_token: true }), await login(server, user)];
    const res = await wipeAsUser(user, { all_other: true });
    assert.equal(res.status, 200);
    assert.deepEqual([...res.body.wiped].sort(), others.map((o) => o.device_id).sort());
    for (const other of others) await assertWiped(other.api, other.device_id);
    await assertRefreshRevoked(server, others[0]!.refresh_token!);
    assert.equal((await user.api.get('/_matrix/client/v3/account/whoami')).status, 200);
  });

  test('refused without the password, for unknown devices, and with nothing named', async () => {
    const user = await registerUser(server);
    const phone = await login(server, user);
    const wrong = await user.api.post(WIPE, { device_ids: [phone.device_id], auth: { ...passwordAuth(user), password: 'not the password!' } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.errcode, 'M_FORBIDDEN');
    assert.equal((await phone.api.get('/_matrix/client/v3/account/whoami')).status, 200, 'nothing wiped');

    const unknown = await user.api.post(WIPE, { device_ids: ['NOSUCHDEVICE'] });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errcode, 'M_NOT_FOUND');
    const nothing = await user.api.post(WIPE, { all_other: false });
    assert.equal(nothing.status, 400);
    assert.equal(nothing.body.errcode, 'M_MISSING_PARAM');
    const bad = await user.api.post(WIPE, { device_ids: 'all' });
    assert.equal(bad.status, 400);
    assert.equal((await server.api.post(WIPE, { all_other: true })).status, 401, 'needs a token');
  });

  test('another user\'s device ids cannot be wiped', async () => {
    const user = await registerUser(server);
    const stranger = await registerUser(server);
    const res = await user.api.post(WIPE, { device_ids: [stranger.deviceId] });
    assert.equal(res.status, 404);
    assert.equal((await stranger.api.get('/_matrix/client/v3/account/whoami')).status, 200);
  });

  test('DELETE /devices/{id} also tells the deleted device to erase its data', async () => {
    const user = await registerUser(server);
    const phone = await login(server, user);
    const res = await user.api.delete(`/_matrix/client/v3/devices/${enc(phone.device_id)}`, { auth: passwordAuth(user) });
    assert.equal(res.status, 200);
    await assertWiped(phone.api, 'the deleted device');
  });

  test('a held /sync long-poll of the wiped device ends at once with the hard logout', async () => {
    const user = await registerUser(server);
    const phone = await login(server, user);
    const phoneUser = { ...user, accessToken: phone.access_token, deviceId: phone.device_id, api: phone.api };
    const first = await sync(phoneUser);
    const started = Date.now();
    const held = phone.api.get(`/_matrix/client/v3/sync?since=${first.next_batch}&timeout=30000`);
    await new Promise((r) => setTimeout(r, 200));
    await wipeAsUser(user, { device_ids: [phone.device_id] });
    const res = await held;
    const elapsed = Date.now() - started;
    assert.equal(res.status, 401, JSON.stringify(res.body));
    assert.equal(res.body.soft_logout, false);
    assert.ok(elapsed < 5_000, `the long-poll ended after ${elapsed} ms`);
  });

  test('a syncing matrix-js-sdk client is logged out (soft_logout false) within one sync cycle', async () => {
    const user = await registerUser(server);
    const phone = await login(server, user);
    const { client, loggedOut } = await syncingClient(server, { userId: user.userId, deviceId: phone.device_id, accessToken: phone.access_token });
    await new Promise((r) => setTimeout(r, 200)); // the SDK is now holding its next long-poll (30 s)
    const started = Date.now();
    await wipeAsUser(user, { device_ids: [phone.device_id] });
    const error = await within(5_000, 'Session.logged_out', loggedOut);
    assert.equal(error.errcode, 'M_UNKNOWN_TOKEN');
    assert.equal(error.data.soft_logout, false);
    assert.ok(Date.now() - started < 5_000);
    assertStopped(client);
  });
});

function assertStopped(client: MatrixClient) {
  // The SDK stops syncing after M_UNKNOWN_TOKEN ("assuming logout").
  assert.equal(client.getSyncState(), 'ERROR');
}

describe('remote wipe by an administrator (service)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ session_idle_timeout: '15m' });
  });
  after(() => closeWithSdkClients(server));

  test('wipeDevice ends one device; the user\'s other devices keep working', async () => {
    const user = await registerUser(server, { refresh: true });
    const desk = await login(server, user);
    assert.equal(await server.services.sessions.wipeDevice(user.userId, user.deviceId, { userId: '@admin:test.local' }), true);
    await assertWiped(user.api, 'wiped');
    await assertRefreshRevoked(server, user.refreshToken!);
    assert.equal((await desk.api.get('/_matrix/client/v3/account/whoami')).status, 200);
    assert.equal(await server.services.sessions.wipeDevice(user.userId, 'NOSUCH', { userId: '@admin:test.local' }), false);
    const trail = await server.storage.audit.entries({ limit: 10_000 });
    const wipe = trail.find((e) => e.action === 'session.wipe' && e.target.includes(user.deviceId));
    assert.ok(wipe, 'the wipe is in the audit trail');
    assert.equal(wipe.actorUserId, '@admin:test.local');
  });

  test('wipeUser ends every device in one action, and every syncing client is logged out', async () => {
    const user = await registerUser(server);
    const phone = await login(server, user, { refresh_token: true });
    const clients = [
      await syncingClient(server, { userId: user.userId, deviceId: user.deviceId, accessToken: user.accessToken }),
      await syncingClient(server, { userId: user.userId, deviceId: phone.device_id, accessToken: phone.access_token }),
    ];
    const bystander = await registerUser(server);
    const wiped = await server.services.sessions.wipeUser(user.userId, { userId: '@admin:test.local' });
    assert.deepEqual([...wiped].sort(), [user.deviceId, phone.device_id].sort());
    for (const { loggedOut } of clients) assert.equal((await within(5_000, 'Session.logged_out', loggedOut)).data.soft_logout, false);
    await assertWiped(user.api, 'first device');
    await assertWiped(phone.api, 'second device');
    await assertRefreshRevoked(server, phone.refresh_token!);
    assert.equal((await bystander.api.get('/_matrix/client/v3/account/whoami')).status, 200);
    // The user may sign in again (the account is not locked by a wipe).
    assert.equal((await login(server, user)).user_id, user.userId);
  });

  test('a session already ended by inactivity, then wiped, is told to erase its data', async () => {
    const user = await registerUser(server);
    server.clock.advance(16 * 60_000);
    const idle = await user.api.get('/_matrix/client/v3/account/whoami');
    assert.equal(idle.body.soft_logout, true);
    await server.services.sessions.wipeUser(user.userId, { userId: '@admin:test.local' });
    await assertWiped(user.api, 'after the wipe');
  });
});

describe('deactivating an account', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => closeWithSdkClients(server));

  test('wipes every session: hard logout, refresh revoked, syncing clients logged out', async () => {
    const user = await registerUser(server, { refresh: true });
    const phone = await login(server, user);
    const { loggedOut } = await syncingClient(server, { userId: user.userId, deviceId: phone.device_id, accessToken: phone.access_token });
    const res = await user.api.post('/_matrix/client/v3/account/deactivate', { auth: passwordAuth(user) });
    assert.equal(res.status, 200);
    assert.equal((await within(5_000, 'Session.logged_out', loggedOut)).data.soft_logout, false);
    assert.match(await assertWiped(user.api, 'the deactivating device'), /erase local data/);
    await assertWiped(phone.api, 'the phone');
    await assertRefreshRevoked(server, user.refreshToken!);
  });
});
