import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { canonicalJson, encodeUnpaddedBase64 } from '@caduceus/core';
import { enc } from './support/api.ts';
import { createRoom, join, sync } from './support/rooms.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { login, passwordAuth, registerUser, type TestUser } from './support/users.ts';

type Json = Record<string, any>;

/** An ed25519 key pair as Matrix clients use them: unpadded base64 public key. */
function newKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return { privateKey, publicKey: encodeUnpaddedBase64(raw) };
}

function signWith(object: Json, userId: string, keyId: string, privateKey: KeyObject): Json {
  const { signatures, unsigned: _u, ...rest } = object;
  const sig = encodeUnpaddedBase64(sign(null, Buffer.from(canonicalJson(rest), 'utf8'), privateKey));
  return { ...object, signatures: { ...(signatures ?? {}), [userId]: { ...(signatures?.[userId] ?? {}), [keyId]: sig } } };
}

/** A device's identity: its ed25519 key signs its device keys and its one-time keys. */
function deviceIdentity(userId: string, deviceId: string) {
  const ed = newKey();
  const keyId = `ed25519:${deviceId}`;
  const deviceKeys = signWith(
    {
      user_id: userId,
      device_id: deviceId,
      algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
      keys: { [`curve25519:${deviceId}`]: encodeUnpaddedBase64(Buffer.from(`curve-${deviceId}`.padEnd(32, 'x').slice(0, 32))), [keyId]: ed.publicKey },
    },
    userId,
    keyId,
    ed.privateKey,
  );
  const otk = (id: string, extra: Json = {}) => signWith({ key: encodeUnpaddedBase64(Buffer.from(`otk-${id}`.padEnd(32, 'y').slice(0, 32))), ...extra }, userId, keyId, ed.privateKey);
  return { ed, keyId, deviceKeys, otk };
}

const UPLOAD = '/_matrix/client/v3/keys/upload';
const QUERY = '/_matrix/client/v3/keys/query';
const CLAIM = '/_matrix/client/v3/keys/claim';

async function uploadIdentity(user: TestUser, otkIds: string[] = [], fallbackId?: string) {
  const id = deviceIdentity(user.userId, user.deviceId);
  const res = await user.api.post(UPLOAD, {
    device_keys: id.deviceKeys,
    one_time_keys: Object.fromEntries(otkIds.map((k) => [`signed_curve25519:${k}`, id.otk(k)])),
    ...(fallbackId ? { fallback_keys: { [`signed_curve25519:${fallbackId}`]: id.otk(fallbackId, { fallback: true }) } } : {}),
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { ...id, response: res.body };
}

describe('end-to-end encryption keys', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('uploads device keys and one-time keys, counting this device\'s keys only', async () => {
    const user = await registerUser(server);
    const first = await user.api.post(UPLOAD, {});
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, { one_time_key_counts: {} }, 'one_time_key_counts is always there');
    const id = await uploadIdentity(user, ['A1', 'A2', 'A3']);
    assert.deepEqual(id.response, { one_time_key_counts: { signed_curve25519: 3 } });
    const more = await user.api.post(UPLOAD, { one_time_keys: { 'signed_curve25519:A4': id.otk('A4'), 'curve25519:B1': 'plainkey' } });
    assert.deepEqual(more.body, { one_time_key_counts: { signed_curve25519: 4, curve25519: 1 } });
    // Another device of the same user has its own count.
    const other = await login(server, user);
    const otherUpload = await other.api.post(UPLOAD, { one_time_keys: { 'signed_curve25519:Z1': { key: 'zz' } } });
    assert.deepEqual(otherUpload.body, { one_time_key_counts: { signed_curve25519: 1 } });
    assert.deepEqual(await server.services.keys.oneTimeKeyCounts(user.userId, user.deviceId), { signed_curve25519: 4, curve25519: 1 });
  });

  test('re-uploading the same keys is fine; different device keys or one-time key content are refused', async () => {
    const user = await registerUser(server);
    const id = await uploadIdentity(user, ['K1']);
    const again = await user.api.post(UPLOAD, { device_keys: id.deviceKeys, one_time_keys: { 'signed_curve25519:K1': id.otk('K1') } });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body.one_time_key_counts, { signed_curve25519: 1 });
    const changedOtk = await user.api.post(UPLOAD, { one_time_keys: { 'signed_curve25519:K1': { key: 'different' } } });
    assert.equal(changedOtk.status, 400);
    assert.equal(changedOtk.body.errcode, 'M_INVALID_PARAM');
    const otherIdentity = deviceIdentity(user.userId, user.deviceId);
    const replaced = await user.api.post(UPLOAD, { device_keys: otherIdentity.deviceKeys });
    assert.equal(replaced.status, 400);
    assert.equal(replaced.body.errcode, 'M_INVALID_PARAM');
    const query = await user.api.post(QUERY, { device_keys: { [user.userId]: [] } });
    assert.deepEqual(query.body.device_keys[user.userId][user.deviceId].keys, id.deviceKeys.keys, 'the first keys stay');
  });

  test('device keys must be the caller\'s and carry a valid self-signature', async () => {
    const user = await registerUser(server);
    const other = await registerUser(server);
    const foreign = deviceIdentity(other.userId, user.deviceId);
    const wrongUser = await user.api.post(UPLOAD, { device_keys: foreign.deviceKeys });
    assert.equal(wrongUser.status, 400);
    assert.equal(wrongUser.body.errcode, 'M_INVALID_PARAM');
    const wrongDevice = await user.api.post(UPLOAD, { device_keys: deviceIdentity(user.userId, 'NOTMINE').deviceKeys });
    assert.equal(wrongDevice.status, 400);
    assert.equal(wrongDevice.body.errcode, 'M_INVALID_PARAM');
    const id = deviceIdentity(user.userId, user.deviceId);
    const tampered = { ...id.deviceKeys, algorithms: ['m.olm.v1.curve25519-aes-sha2'] };
    const bad = await user.api.post(UPLOAD, { device_keys: tampered });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errcode, 'M_INVALID_SIGNATURE');
    const unsigned = await user.api.post(UPLOAD, { device_keys: { ...id.deviceKeys, signatures: {} } });
    assert.equal(unsigned.status, 400);
    assert.equal(unsigned.body.errcode, 'M_INVALID_SIGNATURE');
    const noAuth = await server.api.post(UPLOAD, {});
    assert.equal(noAuth.status, 401);
    assert.equal((await user.api.post(QUERY, { device_keys: { [user.userId]: [] } })).body.device_keys[user.userId], undefined, 'nothing was stored');
  });

  test('query returns uploaded keys verbatim with the display name; unknown users are absent', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    await bob.api.put(`/_matrix/client/v3/devices/${enc(bob.deviceId)}`, { display_name: 'Bob\'s laptop' });
    const id = await uploadIdentity(bob);
    const res = await alice.api.post(QUERY, { device_keys: { [bob.userId]: [], '@nobody:test.local': [] } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.failures, {});
    assert.deepEqual(res.body.device_keys, { [bob.userId]: { [bob.deviceId]: { ...id.deviceKeys, unsigned: { device_display_name: 'Bob\'s laptop' } } } });
    const filtered = await alice.api.post(QUERY, { device_keys: { [bob.userId]: ['OTHERDEVICE'] } });
    assert.deepEqual(filtered.body.device_keys, {}, 'device_keys is present even when empty');
    const none = await alice.api.post(QUERY, { device_keys: {} });
    assert.deepEqual(none.body.device_keys, {});
  });

  test('claim hands out each one-time key once, then the fallback key, and nothing without one', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const id = await uploadIdentity(bob, ['O1', 'O2'], 'F1');
    assert.deepEqual(await server.services.keys.unusedFallbackKeyTypes(bob.userId, bob.deviceId), ['signed_curve25519']);
    const claim = () => alice.api.post(CLAIM, { one_time_keys: { [bob.userId]: { [bob.deviceId]: 'signed_curve25519' } } });
    const got: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await claim();
      assert.equal(res.status, 200);
      const keys = res.body.one_time_keys[bob.userId][bob.deviceId];
      const [name] = Object.keys(keys);
      got.push(name!);
      assert.deepEqual(keys[name!], id.otk(name!.split(':')[1]!), 'the key object comes back as uploaded');
    }
    assert.deepEqual(got.sort(), ['signed_curve25519:O1', 'signed_curve25519:O2']);
    assert.deepEqual((await bob.api.post(UPLOAD, {})).body.one_time_key_counts, {});
    const fallback = await claim();
    assert.deepEqual(fallback.body.one_time_keys[bob.userId][bob.deviceId], { 'signed_curve25519:F1': id.otk('F1', { fallback: true }) });
    assert.equal(fallback.body.one_time_keys[bob.userId][bob.deviceId]['signed_curve25519:F1'].fallback, true);
    assert.deepEqual(await server.services.keys.unusedFallbackKeyTypes(bob.userId, bob.deviceId), [], 'the fallback key is now used');
    // A new fallback key replaces the used one and is unused again.
    await bob.api.post(UPLOAD, { fallback_keys: { 'signed_curve25519:F2': id.otk('F2', { fallback: true }) } });
    assert.deepEqual(await server.services.keys.unusedFallbackKeyTypes(bob.userId, bob.deviceId), ['signed_curve25519']);
    assert.deepEqual(Object.keys((await claim()).body.one_time_keys[bob.userId][bob.deviceId]), ['signed_curve25519:F2']);

    const carol = await registerUser(server);
    await uploadIdentity(carol, ['C1']);
    const claimCarol = () => alice.api.post(CLAIM, { one_time_keys: { [carol.userId]: { [carol.deviceId]: 'signed_curve25519' }, '@ghost:test.local': { X: 'signed_curve25519' } } });
    assert.deepEqual(Object.keys((await claimCarol()).body.one_time_keys[carol.userId][carol.deviceId]), ['signed_curve25519:C1']);
    const empty = await claimCarol();
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.body, { one_time_keys: {}, failures: {} }, 'no keys left and no fallback key: nothing');
  });

  test('concurrent claims never hand out one key twice', async () => {
    const bob = await registerUser(server);
    const ids = Array.from({ length: 20 }, (_, i) => `P${i}`);
    await uploadIdentity(bob, ids);
    const claimers = await Promise.all([registerUser(server), registerUser(server), registerUser(server)]);
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => claimers[i % 3]!.api.post(CLAIM, { one_time_keys: { [bob.userId]: { [bob.deviceId]: 'signed_curve25519' } } })),
    );
    const handedOut = responses.flatMap((r) => {
      assert.equal(r.status, 200);
      return Object.keys(r.body.one_time_keys[bob.userId]?.[bob.deviceId] ?? {});
    });
    assert.equal(handedOut.length, 20, 'every key handed out, and only once each');
    assert.equal(new Set(handedOut).size, 20);
    assert.deepEqual(await server.services.keys.oneTimeKeyCounts(bob.userId, bob.deviceId), {});
  });

  test('keys/changes lists users sharing a room whose keys changed; deleting a device removes its keys', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const room = await alice.api.post('/_matrix/client/v3/createRoom', { invite: [bob.userId] });
    assert.equal(room.status, 200);
    assert.equal((await bob.api.post(`/_matrix/client/v3/rooms/${enc(room.body.room_id)}/join`, {})).status, 200);
    const before = (await alice.api.get('/_matrix/client/v3/sync?timeout=0')).body.next_batch as string;
    const phone = await login(server, bob);
    const phoneIdentity = deviceIdentity(bob.userId, phone.device_id);
    assert.equal((await phone.api.post(UPLOAD, { device_keys: phoneIdentity.deviceKeys, one_time_keys: { 'signed_curve25519:Q': phoneIdentity.otk('Q') } })).status, 200);
    const stranger = await registerUser(server);
    await uploadIdentity(stranger);
    const now = (await alice.api.get('/_matrix/client/v3/sync?timeout=0')).body.next_batch as string;
    const changes = await alice.api.get(`/_matrix/client/v3/keys/changes?from=${enc(before)}&to=${enc(now)}`);
    assert.equal(changes.status, 200);
    assert.deepEqual(changes.body, { changed: [bob.userId], left: [] }, 'bob (shares a room) but not the stranger');
    assert.deepEqual((await alice.api.get(`/_matrix/client/v3/keys/changes?from=${enc(now)}&to=${enc(now)}`)).body, { changed: [], left: [] });
    assert.equal((await alice.api.get('/_matrix/client/v3/keys/changes?from=bogus&to=s1')).status, 400);

    const challenge = await bob.api.delete(`/_matrix/client/v3/devices/${enc(phone.device_id)}`, {});
    assert.equal((await bob.api.delete(`/_matrix/client/v3/devices/${enc(phone.device_id)}`, { auth: passwordAuth(bob, challenge.body.session) })).status, 200);
    const query = await alice.api.post(QUERY, { device_keys: { [bob.userId]: [] } });
    assert.equal(query.body.device_keys[bob.userId]?.[phone.device_id], undefined);
    assert.deepEqual(await server.services.keys.oneTimeKeyCounts(bob.userId, phone.device_id), {});
  });

  test('cross-signing keys upload, are queryable, and signatures uploaded on device keys are merged in', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const device = await uploadIdentity(alice);
    const master = newKey();
    const selfSigning = newKey();
    const userSigning = newKey();
    const masterId = `ed25519:${master.publicKey}`;
    const masterKey = signWith({ user_id: alice.userId, usage: ['master'], keys: { [masterId]: master.publicKey } }, alice.userId, device.keyId, device.ed.privateKey);
    const sskId = `ed25519:${selfSigning.publicKey}`;
    const ssk = signWith({ user_id: alice.userId, usage: ['self_signing'], keys: { [sskId]: selfSigning.publicKey } }, alice.userId, masterId, master.privateKey);
    const usk = signWith({ user_id: alice.userId, usage: ['user_signing'], keys: { [`ed25519:${userSigning.publicKey}`]: userSigning.publicKey } }, alice.userId, masterId, master.privateKey);

    const badSsk = { ...ssk, signatures: {} };
    const refused = await alice.api.post('/_matrix/client/v3/keys/device_signing/upload', { master_key: masterKey, self_signing_key: badSsk });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.errcode, 'M_INVALID_SIGNATURE');
    const ok = await alice.api.post('/_matrix/client/v3/keys/device_signing/upload', { master_key: masterKey, self_signing_key: ssk, user_signing_key: usk });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));

    const own = await alice.api.post(QUERY, { device_keys: { [alice.userId]: [] } });
    assert.deepEqual(own.body.master_keys[alice.userId], masterKey);
    assert.deepEqual(own.body.self_signing_keys[alice.userId], ssk);
    assert.deepEqual(own.body.user_signing_keys[alice.userId], usk);
    const theirs = await bob.api.post(QUERY, { device_keys: { [alice.userId]: [] } });
    assert.deepEqual(theirs.body.master_keys[alice.userId], masterKey);
    assert.equal(theirs.body.user_signing_keys[alice.userId], undefined, 'user-signing keys only to their owner');

    // Replacing the master key needs the password.
    const newMaster = newKey();
    const replacement = { user_id: alice.userId, usage: ['master'], keys: { [`ed25519:${newMaster.publicKey}`]: newMaster.publicKey } };
    const challenge = await alice.api.post('/_matrix/client/v3/keys/device_signing/upload', { master_key: replacement });
    assert.equal(challenge.status, 401);

    // The self-signing key signs the device; the signature shows up in queries.
    const signedDevice = signWith(device.deviceKeys, alice.userId, sskId, selfSigning.privateKey);
    const sigs = await alice.api.post('/_matrix/client/v3/keys/signatures/upload', { [alice.userId]: { [alice.deviceId]: signedDevice } });
    assert.equal(sigs.status, 200);
    assert.deepEqual(sigs.body.failures, {});
    const after = await bob.api.post(QUERY, { device_keys: { [alice.userId]: [] } });
    assert.equal(after.body.device_keys[alice.userId][alice.deviceId].signatures[alice.userId][sskId], signedDevice.signatures[alice.userId][sskId]);
    const forged = signWith(device.deviceKeys, alice.userId, sskId, newKey().privateKey);
    const bad = await alice.api.post('/_matrix/client/v3/keys/signatures/upload', { [alice.userId]: { [alice.deviceId]: forged } });
    assert.equal(bad.body.failures[alice.userId][alice.deviceId].errcode, 'M_INVALID_SIGNATURE');
  });
});

describe('keys in /sync', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());


  test('one-time key counts and unused fallback key types are in every sync, accurate for the device', async () => {
    const user = await registerUser(server);
    const empty = await sync(user);
    assert.deepEqual(empty.device_one_time_keys_count, { signed_curve25519: 0 });
    assert.deepEqual(empty.device_unused_fallback_key_types, []);
    await uploadIdentity(user, ['K1', 'K2'], 'F1');
    const after = await sync(user, { since: empty.next_batch });
    assert.deepEqual(after.device_one_time_keys_count, { signed_curve25519: 2 });
    assert.deepEqual(after.device_unused_fallback_key_types, ['signed_curve25519']);
  });

  test('a room-mate uploading new device keys, or losing a device, appears in device_lists.changed; strangers do not', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const stranger = await registerUser(server);
    const roomId = await createRoom(alice, { invite: [bob.userId] });
    await join(bob, roomId);
    const aliceFirst = await sync(alice);
    const strangerFirst = await sync(stranger);

    const phone = await login(server, bob);
    await uploadIdentity({ ...bob, deviceId: phone.device_id, accessToken: phone.access_token, api: phone.api });
    const afterUpload = await sync(alice, { since: aliceFirst.next_batch });
    assert.deepEqual(afterUpload.device_lists.changed, [bob.userId]);
    const strangerView = await sync(stranger, { since: strangerFirst.next_batch });
    assert.deepEqual(strangerView.device_lists.changed, []);

    await bob.api.post('/_matrix/client/v3/delete_devices', { devices: [phone.device_id], auth: passwordAuth(bob) });
    const afterDelete = await sync(alice, { since: afterUpload.next_batch });
    assert.deepEqual(afterDelete.device_lists.changed, [bob.userId]);
  });

  test('a long-poll wakes when a room-mate\'s devices change', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const roomId = await createRoom(alice, { invite: [bob.userId] });
    await join(bob, roomId);
    const first = await sync(alice);
    const waiting = sync(alice, { since: first.next_batch, timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    await uploadIdentity(bob);
    const woke = await waiting;
    assert.deepEqual(woke.device_lists.changed, [bob.userId]);
  });

  test('someone joining a shared room is in device_lists.changed, so clients fetch their devices', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const roomId = await createRoom(alice, { invite: [bob.userId] });
    const first = await sync(alice);
    await join(bob, roomId);
    const after = await sync(alice, { since: first.next_batch });
    assert.ok(after.device_lists.changed.includes(bob.userId));
    const bobView = await sync(bob);
    assert.deepEqual(bobView.device_lists.changed, [], 'an initial sync lists nothing: the client queries everyone anyway');
  });
});
