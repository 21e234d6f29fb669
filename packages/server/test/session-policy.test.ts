import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../src/index.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { login, registerUser } from './support/users.ts';
import type { Api } from './support/api.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

async function assertSoftLogout(api: Api, what: string) {
  const res = await api.get('/_matrix/client/v3/account/whoami');
  assert.equal(res.status, 401, `${what}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.errcode, 'M_UNKNOWN_TOKEN');
  assert.equal(res.body.soft_logout, true, what);
}

describe('automatic logoff', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ session_idle_timeout: '15m', session_max_lifetime: '12h' });
  });
  after(() => server.close());

  test('a session with no request for the idle timeout answers M_UNKNOWN_TOKEN with soft_logout: true', async () => {
    const user = await registerUser(server);
    server.clock.advance(15 * MINUTE - 1);
    assert.equal((await user.api.get('/_matrix/client/v3/account/whoami')).status, 200, 'just inside the timeout');
    server.clock.advance(15 * MINUTE);
    await assertSoftLogout(user.api, 'idle for 15 minutes');
  });

  test('activity resets idleness, even between the once-a-minute "last seen" writes', async () => {
    const user = await registerUser(server);
    // Requests every 10 minutes, for longer than the idle timeout: never idle.
    for (let i = 0; i < 5; i++) {
      server.clock.advance(10 * MINUTE);
      assert.equal((await user.api.get('/_matrix/client/v3/account/whoami')).status, 200, `request ${i}`);
    }
    // Seconds apart (no "last seen" write in between), the last request still counts.
    server.clock.advance(20_000);
    assert.equal((await user.api.get('/_matrix/client/v3/account/whoami')).status, 200);
    server.clock.advance(15 * MINUTE - 10_000);
    assert.equal((await user.api.get('/_matrix/client/v3/account/whoami')).status, 200);
  });

  test('one idle device does not end the user\'s other sessions', async () => {
    const user = await registerUser(server);
    const ward = await login(server, user);
    for (let i = 0; i < 2; i++) {
      server.clock.advance(10 * MINUTE);
      assert.equal((await ward.api.get('/_matrix/client/v3/account/whoami')).status, 200);
    }
    await assertSoftLogout(user.api, 'the silent device');
  });

  test('sessions end after the absolute lifetime however active they are', async () => {
    const user = await registerUser(server);
    for (let elapsed = 0; elapsed < 12 * HOUR - 10 * MINUTE; elapsed += 10 * MINUTE) {
      server.clock.advance(10 * MINUTE);
      assert.equal((await user.api.get('/_matrix/client/v3/account/whoami')).status, 200);
    }
    server.clock.advance(10 * MINUTE);
    await assertSoftLogout(user.api, 'after 12 hours');
  });

  test('signing in again on the same device (soft-logout recovery) starts a new session', async () => {
    const user = await registerUser(server);
    server.clock.advance(20 * MINUTE);
    await assertSoftLogout(user.api, 'idle');
    const again = await login(server, user, { device_id: user.deviceId });
    assert.equal(again.device_id, user.deviceId);
    assert.equal((await again.api.get('/_matrix/client/v3/account/whoami')).status, 200);
    // The old token stays dead.
    assert.equal((await user.api.get('/_matrix/client/v3/account/whoami')).status, 401);
  });

  test('a refresh after the idle timeout is refused with soft_logout: true', async () => {
    const user = await registerUser(server, { refresh: true });
    server.clock.advance(16 * MINUTE);
    const res = await server.api.post('/_matrix/client/v3/refresh', { refresh_token: user.refreshToken });
    assert.equal(res.status, 401);
    assert.equal(res.body.errcode, 'M_UNKNOWN_TOKEN');
    assert.equal(res.body.soft_logout, true);
  });

  test('a refresh after the absolute lifetime is refused, though the device kept refreshing', async () => {
    const user = await registerUser(server, { refresh: true });
    let refreshToken = user.refreshToken!;
    for (let elapsed = 0; elapsed < 12 * HOUR - 10 * MINUTE; elapsed += 10 * MINUTE) {
      server.clock.advance(10 * MINUTE);
      const res = await server.api.post('/_matrix/client/v3/refresh', { refresh_token: refreshToken });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      refreshToken = res.body.refresh_token;
    }
    server.clock.advance(10 * MINUTE);
    const res = await server.api.post('/_matrix/client/v3/refresh', { refresh_token: refreshToken });
    assert.equal(res.status, 401);
    assert.equal(res.body.soft_logout, true);
  });

  test('a refresh inside the policy works and counts as activity', async () => {
    const user = await registerUser(server, { refresh: true });
    server.clock.advance(14 * MINUTE);
    const refreshed = await server.api.post('/_matrix/client/v3/refresh', { refresh_token: user.refreshToken });
    assert.equal(refreshed.status, 200);
    server.clock.advance(14 * MINUTE);
    assert.equal((await server.api.withToken(refreshed.body.access_token).get('/_matrix/client/v3/account/whoami')).status, 200);
  });

  test('the session list shows client, address, last seen and when each session ends', async () => {
    const user = await registerUser(server);
    const tablet = await login(server, user, { initial_device_display_name: 'Ward tablet' });
    await tablet.api.request('GET', '/_matrix/client/v3/account/whoami', undefined, { 'User-Agent': 'Element/1.11 (ward tablet)' });
    // "Last seen" is written beside the request, not before its answer (a failed write must not fail
    // the request it describes): the list shows it moments later.
    let res = await user.api.get('/_caduceus/client/v1/sessions');
    const tabletView = () => res.body.sessions.find((s: { device_id: string }) => s.device_id === tablet.device_id);
    for (let attempt = 0; attempt < 40 && tabletView()?.user_agent === undefined; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      res = await user.api.get('/_caduceus/client/v1/sessions');
    }
    assert.equal(res.status, 200);
    const view = tabletView();
    assert.equal(view.display_name, 'Ward tablet');
    assert.equal(view.user_agent, 'Element/1.11 (ward tablet)');
    assert.equal(view.last_seen_ip, '127.0.0.1');
    assert.equal(view.last_seen_ts, server.clock.now());
    assert.equal(view.idle_expires_ts, server.clock.now() + 15 * MINUTE);
    assert.equal(view.lifetime_expires_ts, view.session_started_ts + 12 * HOUR);
    assert.equal(view.current, false);
    assert.equal(res.body.sessions.find((s: { device_id: string }) => s.device_id === user.deviceId).current, true);
    assert.equal((await server.api.get('/_caduceus/client/v1/sessions')).status, 401, 'needs a token');
  });
});

describe('a server without automatic logoff', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ session_idle_timeout: '0', session_max_lifetime: '0' });
  });
  after(() => server.close());

  test('keeps sessions whatever the clock says', async () => {
    const user = await registerUser(server);
    server.clock.advance(30 * 24 * HOUR);
    assert.equal((await user.api.get('/_matrix/client/v3/account/whoami')).status, 200);
  });
});

describe('the session policy clients read', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ session_idle_timeout: '15m', session_max_lifetime: '12h', room_encryption: 'required', mfa: 'required' });
  });
  after(() => server.close());

  test('GET /_caduceus/client/v1/policy answers without a token with idle lock, lifetime, MFA and encryption', async () => {
    const res = await server.api.get('/_caduceus/client/v1/policy');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      idle_lock_minutes: 15,
      idle_timeout_ms: 15 * MINUTE,
      session_lifetime_ms: 12 * HOUR,
      mfa: 'required',
      encryption_required: true,
    });
  });

  test('/.well-known/matrix/client carries the same facts and where to read them', async () => {
    const res = await server.api.get('/.well-known/matrix/client');
    assert.equal(res.status, 200);
    const policy = res.body['org.caduceus.policy'];
    assert.equal(policy.idle_lock_minutes, 15);
    assert.equal(policy.session_lifetime_ms, 12 * HOUR);
    assert.equal(policy.mfa, 'required');
    assert.equal(policy.encryption_required, true);
    assert.equal(policy.url, `${server.url}/_caduceus/client/v1/policy`);
    assert.equal(res.body['m.homeserver'].base_url, server.url);
  });
});

describe('session policy configuration', () => {
  test('defaults follow NIST SP 800-63B AAL2 re-authentication: 30 minutes idle, 12 hours at most', () => {
    const config = loadConfig({}, {}, '/tmp');
    assert.deepEqual(config.sessionPolicy, { idleTimeoutMs: 30 * MINUTE, maxLifetimeMs: 12 * HOUR });
  });

  test('durations: units, bare minutes, 0 for off; anything else is refused naming the variable', () => {
    const config = loadConfig({ CADUCEUS_SESSION_IDLE_TIMEOUT: '20', CADUCEUS_SESSION_MAX_LIFETIME: '1h30m' }, {}, '/tmp');
    assert.deepEqual(config.sessionPolicy, { idleTimeoutMs: 20 * MINUTE, maxLifetimeMs: 90 * MINUTE });
    assert.equal(loadConfig({ CADUCEUS_SESSION_IDLE_TIMEOUT: '0' }, {}, '/tmp').sessionPolicy.idleTimeoutMs, null);
    assert.throws(() => loadConfig({ CADUCEUS_SESSION_IDLE_TIMEOUT: 'soon' }, {}, '/tmp'), /CADUCEUS_SESSION_IDLE_TIMEOUT/);
  });
});
