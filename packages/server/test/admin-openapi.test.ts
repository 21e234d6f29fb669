import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN } from './support/admin.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/** Every admin route, as the document names it (paths relative to the server URL /_caduceus/admin/v1). */
const ROUTES = [
  'get /users',
  'post /users',
  'get /users/{userId}',
  'put /users/{userId}/roles',
  'post /users/{userId}/deactivate',
  'post /users/{userId}/reset-password',
  'post /users/{userId}/reset-mfa',
  'get /users/{userId}/devices',
  'post /users/{userId}/devices/{deviceId}/wipe',
  'post /users/{userId}/devices/wipe',
  'get /rooms',
  'get /rooms/{roomId}',
  'get /rooms/{roomId}/members',
  'put /rooms/{roomId}/block',
  'get /registration_tokens',
  'post /registration_tokens',
  'delete /registration_tokens/{token}',
  'get /policies',
  'put /policies',
  'get /departments',
  'post /departments',
  'get /departments/{departmentId}',
  'put /departments/{departmentId}',
  'delete /departments/{departmentId}',
  'put /departments/{departmentId}/functional-account',
  'put /departments/{departmentId}/members/{userId}',
  'delete /departments/{departmentId}/members/{userId}',
  'get /audit/entries',
  'get /audit/export',
  'get /audit/verify',
  'post /notices',
  'get /report/compliance',
  'get /retention',
  'post /retention/purge',
  'get /legal-holds',
  'post /legal-holds',
  'delete /legal-holds/{holdId}',
  // Any signed-in user: their own roles and the admin areas they may use.
  'get /whoami',
];

describe('admin API: documentation', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('the OpenAPI document lists every admin route and nothing else', async () => {
    const res = await server.api.get(`${ADMIN}/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.body.openapi, /^3\./);
    assert.equal(res.body.servers[0].url, ADMIN);
    const listed = Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
      Object.keys(methods).filter((m) => m !== 'head').map((m) => `${m} ${path}`),
    );
    assert.deepEqual(listed.sort(), [...ROUTES].sort());
    // Request schemas come from the routes: the users list documents its query.
    const params = (res.body.paths['/users'].get.parameters as Array<{ name: string }>).map((p) => p.name).sort();
    assert.deepEqual(params, ['from', 'limit', 'search']);
  });

  test('the docs page is served with a content security policy that allows no inline script', async () => {
    const res = await fetch(`${server.url}${ADMIN}/docs/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline'[^;]*;?\s*script-src-attr/);
    assert.doesNotMatch(csp.split(';').find((d) => d.trim().startsWith('script-src '))!, /unsafe-inline/);
  });
});
