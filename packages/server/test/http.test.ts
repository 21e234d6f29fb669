import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from './support/server.ts';
import { TEST_PASSWORD, login, passwordAuth, registerUser, uniqueName } from './support/users.ts';

describe('bad input gets a clear Matrix error, never a 500', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ max_json_body_bytes: 4096 });
  });
  after(() => server.close());

  test('a body that is not JSON is 400 M_NOT_JSON', async () => {
    const res = await server.api.request('POST', '/_matrix/client/v3/login', '{"type": "m.login.password",', { 'Content-Type': 'application/json' });
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_NOT_JSON');
    assert.equal(typeof res.body.error, 'string');
  });

  test('JSON of the wrong shape is 400 M_BAD_JSON naming the field', async () => {
    const array = await server.api.post('/_matrix/client/v3/login', [1, 2, 3]);
    assert.equal(array.status, 400);
    assert.equal(array.body.errcode, 'M_BAD_JSON');
    const wrongType = await server.api.post('/_matrix/client/v3/login', { type: 'm.login.password', user: 'a', password: 12345 });
    assert.equal(wrongType.body.errcode, 'M_BAD_JSON');
    assert.match(wrongType.body.error, /password/);
  });

  test('a missing field is 400 M_MISSING_PARAM', async () => {
    const res = await server.api.post('/_matrix/client/v3/refresh', {});
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_MISSING_PARAM');
    assert.match(res.body.error, /refresh_token/);
  });

  test('a body over the limit is 413 M_TOO_LARGE', async () => {
    const res = await server.api.post('/_matrix/client/v3/login', { type: 'm.login.password', user: 'a', password: 'x'.repeat(5000) });
    assert.equal(res.status, 413);
    assert.equal(res.body.errcode, 'M_TOO_LARGE');
  });

  test('an attempt at prototype pollution is refused', async () => {
    const res = await server.api.request('POST', '/_matrix/client/v3/login', '{"type":"m.login.password","__proto__":{"isAdmin":true}}', { 'Content-Type': 'application/json' });
    assert.equal(res.status, 400);
    assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
  });

  test('a JSON body without a Content-Type is still understood', async () => {
    const user = await registerUser(server);
    const res = await fetch(`${server.url}/_matrix/client/v3/login`, {
      method: 'POST',
      body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: user.localpart }, password: user.password }),
    });
    assert.equal(res.status, 200);
  });

  test('an unknown endpoint is 404 M_UNRECOGNIZED', async () => {
    for (const path of ['/_matrix/client/v3/no/such/thing', '/_matrix/client/v3/accounts/whoami', '/nothing']) {
      const res = await server.api.get(path);
      assert.equal(res.status, 404, path);
      assert.equal(res.body.errcode, 'M_UNRECOGNIZED', path);
    }
  });

  test('a known endpoint with the wrong method is 405 M_UNRECOGNIZED with Allow', async () => {
    const res = await server.api.put('/_matrix/client/v3/login', {});
    assert.equal(res.status, 405);
    assert.equal(res.body.errcode, 'M_UNRECOGNIZED');
    assert.match(res.headers.get('allow') ?? '', /GET/);
    assert.match(res.headers.get('allow') ?? '', /POST/);
    const device = await server.api.post('/_matrix/client/v3/devices/ABC', {});
    assert.equal(device.status, 405);
  });

  test('answers are JSON, uncacheable and carry a request id', async () => {
    const res = await server.api.get('/_matrix/client/v3/login');
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  test('CORS preflight is answered so web clients on other origins work', async () => {
    const res = await fetch(`${server.url}/_matrix/client/v3/login`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example.org', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' },
    });
    assert.ok(res.status === 204 || res.status === 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('access-control-allow-headers') ?? '', /Authorization/i);
  });

  test('path parameters are URL-decoded as clients encode them', async () => {
    const user = await registerUser(server);
    const res = await user.api.get(`/_matrix/client/v3/devices/${encodeURIComponent(user.deviceId)}`);
    assert.equal(res.status, 200);
  });
});

describe('rate limits', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ rate_limits: 'on' });
  });
  after(() => server.close());

  test('registration from one address is limited with 429 M_LIMIT_EXCEEDED and Retry-After', async () => {
    let limited;
    for (let i = 0; i < 15 && !limited; i++) {
      const res = await server.api.post('/_matrix/client/v3/register', { username: uniqueName(), password: TEST_PASSWORD });
      if (res.status === 429) limited = res;
    }
    assert.ok(limited, 'the limit was reached within 15 attempts');
    assert.equal(limited.body.errcode, 'M_LIMIT_EXCEEDED');
    assert.ok(limited.body.retry_after_ms > 0);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  });
});

describe('logs never hold secrets', () => {
  let server: TestServer;
  const lines: string[] = [];
  before(async () => {
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
    server = await startTestServer({ log_level: 'trace' }, { logStream: stream });
  });
  after(() => server.close());

  test('tokens, passwords and bodies are not written, even at trace level', async () => {
    const user = await registerUser(server, { refresh: true });
    const session = await login(server, user, { refresh_token: true });
    await session.api.get('/_matrix/client/v3/account/whoami');
    await session.api.get(`/_matrix/client/v3/account/whoami?access_token=${session.access_token}`);
    await server.api.post('/_matrix/client/v3/refresh', { refresh_token: session.refresh_token });
    await user.api.post('/_matrix/client/v3/account/password', { new_password: 'another long passphrase', auth: passwordAuth(user) });
    await server.api.request('POST', '/_matrix/client/v3/login', `{"password":"${user.password}"`, { 'Content-Type': 'application/json' });
    assert.ok(lines.length > 10, 'requests were logged');
    const log = lines.join('\n');
    for (const secret of [user.accessToken, user.refreshToken!, session.access_token, session.refresh_token!, user.password, 'another long passphrase']) {
      assert.ok(!log.includes(secret), `log contains a secret: ${secret.slice(0, 6)}…`);
    }
    assert.ok(log.includes('/_matrix/client/v3/account/whoami'), 'paths are logged');
  });
});
