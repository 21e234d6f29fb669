import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { verifyJsonSignature } from '../src/index.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { registerUser } from './support/users.ts';

describe('discovery', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ public_url: 'https://chat.example.org' });
  });
  after(() => server.close());

  test('versions lists the spec versions we implement, with or without a token', async () => {
    const anonymous = await server.api.get('/_matrix/client/versions');
    assert.equal(anonymous.status, 200);
    assert.ok(anonymous.body.versions.includes('v1.11'));
    assert.deepEqual(anonymous.body.unstable_features, {});
    const user = await registerUser(server);
    const authed = await user.api.get('/_matrix/client/versions');
    assert.deepEqual(authed.body, anonymous.body);
  });

  test('versions with a revoked token is refused, so clients notice they were logged out', async () => {
    const res = await server.api.withToken('cad_not-a-token').get('/_matrix/client/versions');
    assert.equal(res.status, 401);
    assert.equal(res.body.errcode, 'M_UNKNOWN_TOKEN');
  });

  test('.well-known/matrix/client points clients at the public URL', async () => {
    const res = await server.api.get('/.well-known/matrix/client');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body['m.homeserver'], { base_url: 'https://chat.example.org' });
    assert.equal(res.body['org.caduceus.policy'].url, 'https://chat.example.org/_caduceus/client/v1/policy');
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
  });

  test('capabilities need a token and advertise room versions 10 and 11, default 10', async () => {
    const anonymous = await server.api.get('/_matrix/client/v3/capabilities');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.errcode, 'M_MISSING_TOKEN');
    const user = await registerUser(server);
    const res = await user.api.get('/_matrix/client/v3/capabilities');
    assert.equal(res.status, 200);
    assert.equal(res.body.capabilities['m.room_versions'].default, '10');
    assert.deepEqual(Object.keys(res.body.capabilities['m.room_versions'].available).sort(), ['10', '11']);
    assert.equal(res.body.capabilities['m.change_password'].enabled, true);
  });

  test('the server key is published and its self-signature verifies', async () => {
    const res = await server.api.get('/_matrix/key/v2/server');
    assert.equal(res.status, 200);
    assert.equal(res.body.server_name, 'test.local');
    const [keyId, { key }] = Object.entries(res.body.verify_keys as Record<string, { key: string }>)[0]!;
    assert.match(keyId, /^ed25519:[A-Za-z0-9_]+$/);
    assert.ok(res.body.valid_until_ts > Date.now());
    assert.equal(verifyJsonSignature(res.body, 'test.local', keyId, key), true);
    const tampered = { ...res.body, valid_until_ts: res.body.valid_until_ts + 1 };
    assert.equal(verifyJsonSignature(tampered, 'test.local', keyId, key), false);
  });

  test('the server key survives a restart (it is kept in the data folder)', async () => {
    const first = await server.api.get('/_matrix/key/v2/server');
    const { loadOrCreateSigningKey } = await import('../src/crypto/signing-key.ts');
    const reloaded = loadOrCreateSigningKey(server.dataDir);
    assert.ok(first.body.verify_keys[reloaded.keyId]);
    assert.equal(first.body.verify_keys[reloaded.keyId].key, reloaded.publicKeyBase64);
  });
});

test('with port 0 and no public_url, clients are pointed at the port actually bound', async () => {
  const server = await startTestServer();
  try {
    const res = await server.api.get('/.well-known/matrix/client');
    assert.equal(res.body['m.homeserver'].base_url, server.url);
    assert.doesNotMatch(server.url, /:0$/);
  } finally {
    await server.close();
  }
});
