import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { encodeUnpaddedBase64 } from '@caduceus/core';
import { enc } from './support/api.ts';
import { closeWithSdkClients, createSdkClient, sdkLog, sdkSessionOf } from './support/sdk.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { login, registerUser, type TestUser } from './support/users.ts';

type Json = Record<string, any>;

const ALGORITHM = 'm.megolm_backup.v1.curve25519-aes-sha2';
const VERSION = '/_matrix/client/v3/room_keys/version';
const KEYS = '/_matrix/client/v3/room_keys/keys';
const ROOM = '!room:test.local';
const ROOM2 = '!other:test.local';

const authData = (publicKey = 'abcdefg') => ({ public_key: publicKey, signatures: { '@alice:test.local': { 'ed25519:DEV': 'sig' } } });

function keyData(overrides: Json = {}): Json {
  return {
    first_message_index: 1,
    forwarded_count: 0,
    is_verified: false,
    session_data: { ephemeral: 'eph', ciphertext: 'cipher', mac: 'mac' },
    ...overrides,
  };
}

async function createBackup(user: TestUser, publicKey?: string): Promise<string> {
  const res = await user.api.post(VERSION, { algorithm: ALGORITHM, auth_data: authData(publicKey) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(typeof res.body.version, 'string');
  return res.body.version;
}

const keysPath = (version: string, roomId?: string, sessionId?: string) =>
  `${KEYS}${roomId ? `/${enc(roomId)}` : ''}${sessionId ? `/${enc(sessionId)}` : ''}?version=${enc(version)}`;

describe('server-side key backup', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => closeWithSdkClients(server));

  test('no backup: GET /room_keys/version is 404 M_NOT_FOUND, and it needs a token', async () => {
    const user = await registerUser(server);
    const res = await user.api.get(VERSION);
    assert.equal(res.status, 404);
    assert.equal(res.body.errcode, 'M_NOT_FOUND');
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const anonymous = await server.api.get(VERSION);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.errcode, 'M_MISSING_TOKEN');
  });

  test('creates versions counting up per user; current is the newest; auth_data is returned verbatim', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    assert.equal(await createBackup(alice, 'k1'), '1');
    assert.equal(await createBackup(alice, 'k2'), '2');
    assert.equal(await createBackup(bob), '1', 'versions are per user');

    const current = await alice.api.get(VERSION);
    assert.equal(current.status, 200);
    assert.deepEqual(current.body, { algorithm: ALGORITHM, auth_data: authData('k2'), version: '2', count: 0, etag: current.body.etag });
    assert.equal(typeof current.body.etag, 'string');

    const first = await alice.api.get(`${VERSION}/1`);
    assert.equal(first.status, 200);
    assert.deepEqual(first.body.auth_data, authData('k1'));
    assert.equal(first.body.version, '1');

    for (const missing of ['3', 'abc', '0', '01']) {
      const res = await alice.api.get(`${VERSION}/${missing}`);
      assert.equal(res.status, 404, missing);
      assert.equal(res.body.errcode, 'M_NOT_FOUND');
    }
    // Bob cannot see Alice's version 2.
    assert.equal((await bob.api.get(`${VERSION}/2`)).status, 404);
  });

  test('POST validates its body', async () => {
    const user = await registerUser(server);
    const noAuthData = await user.api.post(VERSION, { algorithm: ALGORITHM });
    assert.equal(noAuthData.status, 400);
    assert.equal(noAuthData.body.errcode, 'M_MISSING_PARAM');
    const badAuthData = await user.api.post(VERSION, { algorithm: ALGORITHM, auth_data: 'nope' });
    assert.equal(badAuthData.status, 400);
    assert.equal(badAuthData.body.errcode, 'M_BAD_JSON');
  });

  test('PUT /room_keys/version/{version} changes auth_data only, checking algorithm and version', async () => {
    const user = await registerUser(server);
    const version = await createBackup(user, 'old');
    const ok = await user.api.put(`${VERSION}/${version}`, { algorithm: ALGORITHM, auth_data: authData('new'), version });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, {});
    assert.deepEqual((await user.api.get(`${VERSION}/${version}`)).body.auth_data, authData('new'));
    const withoutVersion = await user.api.put(`${VERSION}/${version}`, { algorithm: ALGORITHM, auth_data: authData('newer') });
    assert.equal(withoutVersion.status, 200);

    const wrongAlgorithm = await user.api.put(`${VERSION}/${version}`, { algorithm: 'm.other', auth_data: authData() });
    assert.equal(wrongAlgorithm.status, 400);
    assert.equal(wrongAlgorithm.body.errcode, 'M_INVALID_PARAM');
    const wrongVersion = await user.api.put(`${VERSION}/${version}`, { algorithm: ALGORITHM, auth_data: authData(), version: '99' });
    assert.equal(wrongVersion.status, 400);
    assert.equal(wrongVersion.body.errcode, 'M_INVALID_PARAM');
    const missing = await user.api.put(`${VERSION}/99`, { algorithm: ALGORITHM, auth_data: authData() });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.errcode, 'M_NOT_FOUND');
    assert.deepEqual((await user.api.get(`${VERSION}/${version}`)).body.auth_data, authData('newer'));
  });

  test('DELETE /room_keys/version/{version} removes it and its keys; again succeeds; numbers are not reused', async () => {
    const user = await registerUser(server);
    const v1 = await createBackup(user);
    const v2 = await createBackup(user);
    assert.equal((await user.api.put(keysPath(v2, ROOM, 's1'), keyData())).status, 200);
    const del = await user.api.delete(`${VERSION}/${v2}`);
    assert.equal(del.status, 200);
    assert.deepEqual(del.body, {});
    assert.equal((await user.api.delete(`${VERSION}/${v2}`)).status, 200, 'deleting a deleted backup succeeds');
    assert.equal((await user.api.get(`${VERSION}/${v2}`)).status, 404);
    assert.equal((await user.api.get(keysPath(v2))).status, 404);
    assert.equal((await user.api.get(VERSION)).body.version, v1, 'the older version is current again');
    const never = await user.api.delete(`${VERSION}/42`);
    assert.equal(never.status, 404);
    assert.equal(never.body.errcode, 'M_NOT_FOUND');
    assert.equal(await createBackup(user), '3');
    assert.equal((await user.api.delete(`${VERSION}/1`)).status, 200);
    assert.equal((await user.api.delete(`${VERSION}/3`)).status, 200);
    const none = await user.api.get(VERSION);
    assert.equal(none.status, 404);
    assert.equal(none.body.errcode, 'M_NOT_FOUND');
  });

  test('PUT keys answers etag and count; the etag changes only when keys change', async () => {
    const user = await registerUser(server);
    const version = await createBackup(user);
    const before = (await user.api.get(VERSION)).body;

    const all = await user.api.put(keysPath(version), { rooms: { [ROOM]: { sessions: { s1: keyData(), s2: keyData() } }, [ROOM2]: { sessions: { s3: keyData() } } } });
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.deepEqual(Object.keys(all.body).sort(), ['count', 'etag']);
    assert.equal(all.body.count, 3);
    assert.notEqual(all.body.etag, before.etag);

    const room = await user.api.put(keysPath(version, ROOM), { sessions: { s4: keyData() } });
    assert.equal(room.status, 200);
    assert.equal(room.body.count, 4);
    assert.notEqual(room.body.etag, all.body.etag);

    const session = await user.api.put(keysPath(version, ROOM2, 's5'), keyData());
    assert.equal(session.status, 200);
    assert.equal(session.body.count, 5);
    assert.notEqual(session.body.etag, room.body.etag);

    // The same key again changes nothing.
    const same = await user.api.put(keysPath(version, ROOM2, 's5'), keyData());
    assert.deepEqual(same.body, session.body);

    const info = (await user.api.get(`${VERSION}/${version}`)).body;
    assert.equal(info.count, 5);
    assert.equal(info.etag, session.body.etag);
  });

  test('a stored session key is replaced only by a better one', async () => {
    const user = await registerUser(server);
    const version = await createBackup(user);
    const get = async () => (await user.api.get(keysPath(version, ROOM, 'sess'))).body;
    const put = async (data: Json) => {
      const res = await user.api.put(keysPath(version, ROOM, 'sess'), data);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body;
    };

    const first = await put(keyData({ first_message_index: 5, forwarded_count: 2, session_data: { v: 'a' } }));
    // Worse: higher index; same index but more forwards: kept out.
    assert.equal((await put(keyData({ first_message_index: 6, forwarded_count: 0, session_data: { v: 'b' } }))).etag, first.etag);
    assert.equal((await put(keyData({ first_message_index: 5, forwarded_count: 3, session_data: { v: 'c' } }))).etag, first.etag);
    assert.deepEqual((await get()).session_data, { v: 'a' });
    // Same index, fewer forwards: better.
    await put(keyData({ first_message_index: 5, forwarded_count: 1, session_data: { v: 'd' } }));
    assert.deepEqual((await get()).session_data, { v: 'd' });
    // Lower index: better, even with more forwards.
    await put(keyData({ first_message_index: 2, forwarded_count: 9, session_data: { v: 'e' } }));
    assert.deepEqual((await get()).session_data, { v: 'e' });
    // Verified beats unverified even with a higher index…
    await put(keyData({ first_message_index: 50, forwarded_count: 9, is_verified: true, session_data: { v: 'f' } }));
    assert.deepEqual(await get(), keyData({ first_message_index: 50, forwarded_count: 9, is_verified: true, session_data: { v: 'f' } }));
    // …and an unverified key never replaces a verified one.
    const kept = await put(keyData({ first_message_index: 0, forwarded_count: 0, session_data: { v: 'g' } }));
    assert.deepEqual((await get()).session_data, { v: 'f' });
    assert.equal(kept.count, 1);
  });

  test('GET keys: all rooms, one room ({sessions: {}} when empty), one session (404 when missing)', async () => {
    const user = await registerUser(server);
    const version = await createBackup(user);
    const empty = await user.api.get(keysPath(version));
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.body, { rooms: {} });

    await user.api.put(keysPath(version), { rooms: { [ROOM]: { sessions: { s1: keyData({ session_data: { n: 1 } }) } }, [ROOM2]: { sessions: { s2: keyData() } } } });
    const all = await user.api.get(keysPath(version));
    assert.deepEqual(all.body, { rooms: { [ROOM]: { sessions: { s1: keyData({ session_data: { n: 1 } }) } }, [ROOM2]: { sessions: { s2: keyData() } } } });

    assert.deepEqual((await user.api.get(keysPath(version, ROOM))).body, { sessions: { s1: keyData({ session_data: { n: 1 } }) } });
    const noRoom = await user.api.get(keysPath(version, '!nothing:test.local'));
    assert.equal(noRoom.status, 200);
    assert.deepEqual(noRoom.body, { sessions: {} });

    assert.deepEqual((await user.api.get(keysPath(version, ROOM, 's1'))).body, keyData({ session_data: { n: 1 } }));
    const noSession = await user.api.get(keysPath(version, ROOM, 'nope'));
    assert.equal(noSession.status, 404);
    assert.equal(noSession.body.errcode, 'M_NOT_FOUND');

    // An older version can still be read; a missing one is 404.
    const newer = await createBackup(user);
    assert.deepEqual((await user.api.get(keysPath(version, ROOM, 's1'))).body.session_data, { n: 1 });
    assert.deepEqual((await user.api.get(keysPath(newer))).body, { rooms: {} });
    for (const path of [keysPath('77'), keysPath('77', ROOM), keysPath('77', ROOM, 's1'), keysPath('x', ROOM)]) {
      const res = await user.api.get(path);
      assert.equal(res.status, 404, path);
      assert.equal(res.body.errcode, 'M_NOT_FOUND');
    }
    const noVersion = await user.api.get(KEYS);
    assert.equal(noVersion.status, 400);
    assert.equal(noVersion.body.errcode, 'M_MISSING_PARAM');
  });

  test('PUT keys to a version that is not the current one: 403 M_WRONG_ROOM_KEYS_VERSION; no backup: 404', async () => {
    const user = await registerUser(server);
    const none = await user.api.put(keysPath('1'), { rooms: {} });
    assert.equal(none.status, 404);
    assert.equal(none.body.errcode, 'M_NOT_FOUND');

    const old = await createBackup(user);
    const current = await createBackup(user);
    for (const [path, body] of [
      [keysPath(old), { rooms: { [ROOM]: { sessions: { s: keyData() } } } }],
      [keysPath(old, ROOM), { sessions: { s: keyData() } }],
      [keysPath(old, ROOM, 's'), keyData()],
      [keysPath('99', ROOM, 's'), keyData()],
    ] as const) {
      const res = await user.api.put(path, body);
      assert.equal(res.status, 403, path);
      assert.deepEqual(res.body, { errcode: 'M_WRONG_ROOM_KEYS_VERSION', error: res.body.error, current_version: current });
    }
    assert.equal((await user.api.get(`${VERSION}/${old}`)).body.count, 0);
  });

  test('PUT keys validates KeyBackupData and bounds session_data', async () => {
    const user = await registerUser(server);
    const version = await createBackup(user);
    for (const bad of [
      { ...keyData(), first_message_index: -1 },
      { ...keyData(), is_verified: 'yes' },
      { ...keyData(), session_data: 'text' },
      { first_message_index: 0, forwarded_count: 0, is_verified: false },
    ]) {
      const res = await user.api.put(keysPath(version, ROOM, 's'), bad);
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.match(res.body.errcode, /^M_(BAD_JSON|MISSING_PARAM)$/);
    }
    const badRoom = await user.api.put(keysPath(version), { rooms: { 'not-a-room': { sessions: {} } } });
    assert.equal(badRoom.status, 400);
    assert.equal(badRoom.body.errcode, 'M_INVALID_PARAM');
    const longSession = await user.api.put(keysPath(version, ROOM), { sessions: { ['s'.repeat(300)]: keyData() } });
    assert.equal(longSession.status, 400);
    const tooLarge = await user.api.put(keysPath(version, ROOM, 's'), keyData({ session_data: { ciphertext: 'x'.repeat(70 * 1024) } }));
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.body.errcode, 'M_TOO_LARGE');
    assert.equal((await user.api.get(`${VERSION}/${version}`)).body.count, 0);
  });

  test('DELETE keys: all, one room, one session; answers etag and count', async () => {
    const user = await registerUser(server);
    const version = await createBackup(user);
    const put = await user.api.put(keysPath(version), {
      rooms: { [ROOM]: { sessions: { a: keyData(), b: keyData(), c: keyData() } }, [ROOM2]: { sessions: { d: keyData(), e: keyData() } } },
    });
    assert.equal(put.body.count, 5);

    const one = await user.api.delete(keysPath(version, ROOM, 'a'));
    assert.equal(one.status, 200);
    assert.equal(one.body.count, 4);
    assert.notEqual(one.body.etag, put.body.etag);
    const missing = await user.api.delete(keysPath(version, ROOM, 'a'));
    assert.deepEqual(missing.body, one.body, 'deleting nothing changes nothing');

    const room = await user.api.delete(keysPath(version, ROOM));
    assert.equal(room.body.count, 2);
    assert.notEqual(room.body.etag, one.body.etag);
    assert.deepEqual((await user.api.get(keysPath(version, ROOM))).body, { sessions: {} });

    const all = await user.api.delete(keysPath(version));
    assert.equal(all.status, 200);
    assert.equal(all.body.count, 0);
    assert.deepEqual((await user.api.get(keysPath(version))).body, { rooms: {} });

    for (const path of [keysPath('55'), keysPath('55', ROOM), keysPath('55', ROOM, 'a')]) {
      const res = await user.api.delete(path);
      assert.equal(res.status, 404, path);
      assert.equal(res.body.errcode, 'M_NOT_FOUND');
    }
  });

  test('users cannot touch each other\'s backups', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const version = await createBackup(alice);
    await alice.api.put(keysPath(version, ROOM, 's'), keyData());
    assert.equal((await bob.api.get(keysPath(version, ROOM, 's'))).status, 404);
    assert.equal((await bob.api.delete(keysPath(version))).status, 404);
    assert.equal((await bob.api.delete(`${VERSION}/${version}`)).status, 404);
    assert.equal((await alice.api.get(`${VERSION}/${version}`)).body.count, 1);
  });

  test('matrix-js-sdk with Rust crypto: no backup is seen as none (404 handled), then a new backup is found', async () => {
    const user = await registerUser(server);
    const client = await createSdkClient(server.url, sdkSessionOf(user), { withCrypto: true });
    const crypto = client.getCrypto();
    assert.ok(crypto);
    assert.equal(await crypto.getKeyBackupInfo(), null);
    assert.equal(await crypto.checkKeyBackupAndEnable(), null);
    assert.equal(await crypto.getActiveSessionBackupVersion(), null);

    // The Rust crypto checks the backup's key: a real 32-byte Curve25519 public key.
    const publicKey = encodeUnpaddedBase64(randomBytes(32));
    const version = await createBackup(user, publicKey);
    // The SDK caches what it found: a client starting now sees the backup.
    const second = await login(server, user);
    const later = await createSdkClient(server.url, { userId: second.user_id, deviceId: second.device_id, accessToken: second.access_token }, { withCrypto: true });
    const info = await later.getCrypto()!.getKeyBackupInfo();
    assert.equal(info?.version, version);
    assert.equal(info?.algorithm, ALGORITHM);
    assert.deepEqual(info?.auth_data, authData(publicKey));
    assert.equal(info?.count, 0);
    assert.equal(typeof info?.etag, 'string');
    assert.ok(!sdkLog.some((line) => /Error checking for active key backup/.test(line)), 'the SDK handled the 404 as "no backup"');
  });
});
