/**
 * Failures of the end-to-end encryption endpoints around unknown devices and unknown signing keys
 * (bad signatures on uploads, exhausted one-time keys, oversize uploads and unauthenticated downloads
 * are in keys.test.ts and media.test.ts).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { canonicalJson, encodeUnpaddedBase64 } from '@caduceus/core';
import { startTestServer, type TestServer } from './support/server.ts';
import { registerUser, type TestUser } from './support/users.ts';

type Json = Record<string, any>;

function signWith(object: Json, userId: string, keyId: string, privateKey: KeyObject): Json {
  const { signatures, unsigned: _u, ...rest } = object;
  const sig = encodeUnpaddedBase64(sign(null, Buffer.from(canonicalJson(rest), 'utf8'), privateKey));
  return { ...object, signatures: { ...(signatures ?? {}), [userId]: { ...(signatures?.[userId] ?? {}), [keyId]: sig } } };
}

/** Uploads self-signed device keys for the user's device; returns them and the signing key. */
async function uploadDeviceKeys(user: TestUser) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const ed = encodeUnpaddedBase64(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32));
  const keyId = `ed25519:${user.deviceId}`;
  const deviceKeys = signWith(
    { user_id: user.userId, device_id: user.deviceId, algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'], keys: { [`curve25519:${user.deviceId}`]: ed, [keyId]: ed } },
    user.userId,
    keyId,
    privateKey,
  );
  const res = await user.api.post('/_matrix/client/v3/keys/upload', { device_keys: deviceKeys });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { deviceKeys, keyId, privateKey };
}

describe('end-to-end encryption endpoints: unknown devices and keys', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  before(async () => {
    server = await startTestServer();
    alice = await registerUser(server);
    bob = await registerUser(server);
  });
  after(() => server.close());

  test('signatures on a device that does not exist are reported as M_NOT_FOUND failures', async () => {
    const own = await uploadDeviceKeys(alice);
    const ghost = { ...own.deviceKeys, device_id: 'GHOSTDEVICE' };
    const res = await alice.api.post('/_matrix/client/v3/keys/signatures/upload', {
      [alice.userId]: { GHOSTDEVICE: signWith(ghost, alice.userId, own.keyId, own.privateKey) },
      '@nobody:test.local': { SOMEDEVICE: { user_id: '@nobody:test.local' } },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.failures[alice.userId].GHOSTDEVICE.errcode, 'M_NOT_FOUND');
    assert.equal(res.body.failures['@nobody:test.local'].SOMEDEVICE.errcode, 'M_NOT_FOUND');
  });

  test('a signature by a key the signer does not have is M_INVALID_SIGNATURE and is not stored', async () => {
    const target = await uploadDeviceKeys(bob);
    const { privateKey } = generateKeyPairSync('ed25519');
    const forged = signWith(target.deviceKeys, alice.userId, 'ed25519:NOTAKEYOFALICE', privateKey);
    const res = await alice.api.post('/_matrix/client/v3/keys/signatures/upload', { [bob.userId]: { [bob.deviceId]: forged } });
    assert.equal(res.body.failures[bob.userId][bob.deviceId].errcode, 'M_INVALID_SIGNATURE');
    const query = await alice.api.post('/_matrix/client/v3/keys/query', { device_keys: { [bob.userId]: [bob.deviceId] } });
    assert.equal(query.body.device_keys[bob.userId][bob.deviceId].signatures[alice.userId], undefined);
  });

  test('query and claim leave out unknown users and devices; both need a signed-in user', async () => {
    const query = await alice.api.post('/_matrix/client/v3/keys/query', { device_keys: { [bob.userId]: ['NOSUCHDEVICE'], '@ghost:test.local': [] } });
    assert.equal(query.status, 200);
    assert.deepEqual(query.body.device_keys[bob.userId] ?? {}, {});
    assert.equal(query.body.device_keys['@ghost:test.local'], undefined);
    const claim = await alice.api.post('/_matrix/client/v3/keys/claim', { one_time_keys: { [bob.userId]: { NOSUCHDEVICE: 'signed_curve25519' } } });
    assert.equal(claim.status, 200);
    assert.deepEqual(claim.body.one_time_keys, {});
    for (const path of ['/_matrix/client/v3/keys/query', '/_matrix/client/v3/keys/claim', '/_matrix/client/v3/keys/signatures/upload']) {
      const res = await server.api.post(path, {});
      assert.equal(res.status, 401, path);
      assert.equal(res.body.errcode, 'M_MISSING_TOKEN', path);
    }
    const bad = await alice.api.post('/_matrix/client/v3/keys/claim', { one_time_keys: { [bob.userId]: { [bob.deviceId]: 42 } } });
    assert.equal(bad.status, 400);
  });

  test('a deleted device can no longer upload keys or receive to-device messages', async () => {
    const carol = await registerUser(server);
    await uploadDeviceKeys(carol);
    const deleted = await carol.api.post('/_matrix/client/v3/delete_devices', {
      devices: [carol.deviceId],
      auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: carol.userId }, password: carol.password },
    });
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    const upload = await carol.api.post('/_matrix/client/v3/keys/upload', {});
    assert.equal(upload.status, 401);
    assert.equal(upload.body.errcode, 'M_UNKNOWN_TOKEN');
    const query = await alice.api.post('/_matrix/client/v3/keys/query', { device_keys: { [carol.userId]: [] } });
    assert.deepEqual(query.body.device_keys[carol.userId] ?? {}, {}, 'its keys are gone');
    const sent = await alice.api.put(`/_matrix/client/v3/sendToDevice/m.room_key_request/t${Date.now()}`, { messages: { [carol.userId]: { [carol.deviceId]: { x: 1 } } } });
    assert.equal(sent.status, 200);
    assert.deepEqual(await server.storage.toDevice.pending(carol.userId, carol.deviceId, 0, Number.MAX_SAFE_INTEGER), []);
  });
});
