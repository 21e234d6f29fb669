/**
 * End-to-end encryption across devices, through real matrix-js-sdk clients with Rust crypto:
 * - a device that signs in later decrypts what is sent after it appeared (device discovery through
 *   /sync device_lists and /keys/query, room keys over /sendToDevice);
 * - a deleted device gets no more room keys, and the remaining device still decrypts;
 * - an encrypted attachment (AES-CTR + SHA-256, as the spec's "Sending encrypted attachments") goes
 *   through the media repository as ciphertext only and the other person decrypts it;
 * - cross-signing plus server-side key backup: a new device restores the backup and reads history.
 */
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MatrixError, PendingEventOrdering, type AuthDict, type MatrixClient, type MatrixEvent, type Room } from 'matrix-js-sdk';
import type { RoomMessageEventContent } from 'matrix-js-sdk/lib/@types/events.js';
import { closeWithSdkClients, createSdkClient, loginWithSdk, sdkLog, sdkSessionOf, startSdkClient, stopSdkClient, waitForSdk } from './support/sdk.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { passwordAuth, registerUser, type TestUser } from './support/users.ts';

/**
 * The Rust crypto wrapper (rust-crypto.js `onLiveEventFromSync`) arms a 5-minute timer for every live
 * encrypted event and clears it only when the event decrypts successfully: an event a device cannot
 * decrypt (history from before it signed in) would keep this test process alive for 5 minutes after
 * the clients are stopped. Those timers are unref'd as they are made (same idea as support/sdk.ts).
 */
const sdkSetTimeout = globalThis.setTimeout;
const RUST_CRYPTO_FRAME = /[\\/]matrix-js-sdk[\\/]lib[\\/]rust-crypto[\\/]/;
const unrefUndecryptedEventTimers = function (this: unknown, ...args: Parameters<typeof setTimeout>) {
  const timer = sdkSetTimeout(...args);
  if (args[1] === 5 * 60 * 1000 && RUST_CRYPTO_FRAME.test(new Error().stack ?? '')) timer.unref();
  return timer;
};
Object.defineProperties(unrefUndecryptedEventTimers, Object.getOwnPropertyDescriptors(sdkSetTimeout));
globalThis.setTimeout = unrefUndecryptedEventTimers as typeof setTimeout;

const SYNC = { initialSyncLimit: 30, lazyLoadMembers: false, pendingEventOrdering: PendingEventOrdering.Detached };

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => closeWithSdkClients(server));

/** Polls an (async) condition every 100 ms until it holds; rejects after `timeoutMs` with `what`. */
async function eventually<T>(what: string, check: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last SDK log lines:\n  ${sdkLog.slice(-15).join('\n  ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function encryptedMessages(room: Room | null): MatrixEvent[] {
  if (!room) return [];
  return room
    .getLiveTimeline()
    .getEvents()
    .filter((e) => e.isEncrypted() && e.getType() === 'm.room.message' && !e.isDecryptionFailure());
}

const decryptedBodies = (room: Room | null): string[] => encryptedMessages(room).map((e) => String(e.getContent().body));

/** Waits until `client` shows every one of `bodies` decrypted in `roomId`. */
function waitForDecrypted(client: MatrixClient, roomId: string, bodies: readonly string[], timeoutMs = 20_000): Promise<true> {
  return eventually(`${client.getDeviceId()} to decrypt ${JSON.stringify(bodies)}`, () => {
    const seen = decryptedBodies(client.getRoom(roomId));
    return bodies.every((b) => seen.includes(b));
  }, timeoutMs);
}

/** The device ids `observer`'s crypto knows for `userId` (from its store, no download). */
async function knownDevices(observer: MatrixClient, userId: string): Promise<string[]> {
  const map = await observer.getCrypto()!.getUserDeviceInfo([userId]);
  return [...(map.get(userId)?.keys() ?? [])];
}

/** alice creates an encrypted room, invites `others`, who join; resolves once alice sees them joined. */
async function encryptedRoom(aliceClient: MatrixClient, others: { user: TestUser; client: MatrixClient }[]): Promise<string> {
  const { room_id: roomId } = await aliceClient.createRoom({
    invite: others.map((o) => o.user.userId),
    initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
  });
  for (const { user, client } of others) {
    await waitForSdk(client, 'the invite', () => client.getRoom(roomId)?.getMyMembership() === 'invite');
    await client.joinRoom(roomId);
    await waitForSdk(aliceClient, 'the join', () => aliceClient.getRoom(roomId)?.getMember(user.userId)?.membership === 'join');
  }
  // (isEncryptionEnabledInRoom is async: wait on the room state itself, or the first message may go out in clear.)
  await waitForSdk(aliceClient, 'the room to be encrypted', () => aliceClient.getRoom(roomId)?.hasEncryptionStateEvent());
  return roomId;
}

/** Every regular file under `dir`, recursively, as absolute paths. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

const unpaddedBase64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64').replace(/=+$/, '');
const unpaddedBase64Url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url').replace(/=+$/, '');

describe('encrypted rooms across devices', () => {
  let alice: TestUser;
  let bob: TestUser;
  let aliceClient: MatrixClient;
  let bobClient: MatrixClient;
  let bobSecond: MatrixClient;
  let secondDeviceId: string;
  let roomId: string;

  before(async () => {
    alice = await registerUser(server);
    bob = await registerUser(server);
    aliceClient = await createSdkClient(server.url, sdkSessionOf(alice), { withCrypto: true });
    bobClient = await createSdkClient(server.url, sdkSessionOf(bob), { withCrypto: true });
    await startSdkClient(aliceClient, SYNC);
    await startSdkClient(bobClient, SYNC);
    roomId = await encryptedRoom(aliceClient, [{ user: bob, client: bobClient }]);
  });

  test("bob's second device, signed in later, decrypts what alice sends after it appeared", async () => {
    const earlier = ['Ward round at 8', 'Noted'];
    await aliceClient.sendTextMessage(roomId, earlier[0]!);
    await bobClient.sendTextMessage(roomId, earlier[1]!);
    await waitForDecrypted(bobClient, roomId, earlier);

    const session = await loginWithSdk(server.url, { localpart: bob.localpart, password: bob.password, deviceName: 'second' });
    secondDeviceId = session.deviceId;
    assert.notEqual(secondDeviceId, bob.deviceId);
    bobSecond = await createSdkClient(server.url, session, { withCrypto: true });
    await startSdkClient(bobSecond, SYNC);
    await waitForSdk(bobSecond, 'the room on the second device', () => bobSecond.getRoom(roomId)?.getMyMembership() === 'join');

    // alice learns of the new device through /sync device_lists.changed and /keys/query.
    await eventually("alice's crypto to know bob's second device", async () => (await knownDevices(aliceClient, bob.userId)).includes(secondDeviceId));

    const later = ['Bed 4 needs a repeat lactate', 'CT booked for 14:00'];
    for (const body of later) await aliceClient.sendTextMessage(roomId, body);
    await waitForDecrypted(bobSecond, roomId, later);
    await waitForDecrypted(bobClient, roomId, later);
  });

  test('a deleted device gets no more room keys; the remaining device still decrypts', async () => {
    assert.ok(bobSecond, 'needs the second device of the previous test');
    stopSdkClient(bobSecond);

    // POST /delete_devices with user-interactive auth (password), as a client does.
    const challenge = await bob.api.post('/_matrix/client/v3/delete_devices', { devices: [secondDeviceId] });
    assert.equal(challenge.status, 401, JSON.stringify(challenge.body));
    const deleted = await bob.api.post('/_matrix/client/v3/delete_devices', { devices: [secondDeviceId], auth: passwordAuth(bob, challenge.body.session) });
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));

    await eventually("alice's crypto to forget bob's deleted device", async () => {
      const devices = await knownDevices(aliceClient, bob.userId);
      return devices.includes(bob.deviceId) && !devices.includes(secondDeviceId);
    });

    const body = 'Second device is gone, keys only for the first';
    await aliceClient.sendTextMessage(roomId, body);
    await waitForDecrypted(bobClient, roomId, [body]);

    const queued = await server.storage.toDevice.pending(bob.userId, secondDeviceId, 0, Number.MAX_SAFE_INTEGER);
    assert.deepEqual(queued, [], 'no to-device message is queued for the deleted device');
  });

  test('an encrypted attachment: the media store holds only ciphertext, bob downloads and decrypts it', async () => {
    const plaintext = Buffer.from(`DISCHARGE LETTER ${randomBytes(8).toString('hex')}\n`.repeat(40));
    // Spec "Sending encrypted attachments": AES-256-CTR, a 128-bit IV whose counter half is zero, the
    // key as a JWK, and the SHA-256 of the ciphertext.
    const key = randomBytes(32);
    const iv = Buffer.concat([randomBytes(8), Buffer.alloc(8)]);
    const cipher = createCipheriv('aes-256-ctr', key, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);

    const uploaded = await fetch(`${server.url}/_matrix/media/v3/upload`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${alice.accessToken}`, 'Content-Type': 'application/octet-stream' },
      body: ciphertext,
    });
    const uploadBody = (await uploaded.json()) as { content_uri: string };
    assert.equal(uploaded.status, 200, JSON.stringify(uploadBody));
    assert.match(uploadBody.content_uri, /^mxc:\/\/[^/]+\/[A-Za-z0-9_-]+$/);

    const file = {
      url: uploadBody.content_uri,
      key: { kty: 'oct', key_ops: ['encrypt', 'decrypt'], alg: 'A256CTR', k: unpaddedBase64Url(key), ext: true },
      iv: unpaddedBase64(iv),
      hashes: { sha256: unpaddedBase64(createHash('sha256').update(ciphertext).digest()) },
      v: 'v2',
    };
    const { event_id: eventId } = await aliceClient.sendMessage(roomId, {
      msgtype: 'm.file',
      body: 'discharge.txt',
      info: { mimetype: 'text/plain', size: plaintext.length },
      file,
    } as unknown as RoomMessageEventContent);

    const event = await eventually('bob to decrypt the attachment event', () => {
      const found = bobClient.getRoom(roomId)?.findEventById(eventId);
      return found && found.isEncrypted() && !found.isDecryptionFailure() && found.getType() === 'm.room.message' ? found : undefined;
    }, 20_000);
    const content = event.getContent() as { msgtype: string; file: typeof file };
    assert.equal(content.msgtype, 'm.file');
    assert.deepEqual(content.file, file);

    const match = /^mxc:\/\/([^/]+)\/([^/]+)$/.exec(content.file.url)!;
    const download = await fetch(`${server.url}/_matrix/client/v1/media/download/${match[1]}/${match[2]}`, {
      headers: { Authorization: `Bearer ${bob.accessToken}` },
    });
    assert.equal(download.status, 200);
    const downloaded = Buffer.from(await download.arrayBuffer());
    assert.equal(unpaddedBase64(createHash('sha256').update(downloaded).digest()), content.file.hashes.sha256, 'the SHA-256 of the download matches');
    const jwkKey = Buffer.from(content.file.key.k, 'base64url');
    const decipher = createDecipheriv('aes-256-ctr', jwkKey, Buffer.from(content.file.iv, 'base64'));
    const decrypted = Buffer.concat([decipher.update(downloaded), decipher.final()]);
    assert.ok(decrypted.equals(plaintext), 'bob decrypts the original bytes');

    const mediaFiles = await filesUnder(join(server.dataDir, 'media'));
    assert.ok(mediaFiles.length > 0, 'the upload is stored under the data folder');
    let ciphertextFound = false;
    for (const path of mediaFiles) {
      const bytes = await readFile(path);
      assert.equal(bytes.indexOf(plaintext.subarray(0, 64)), -1, `plaintext found in ${path}`);
      if (bytes.equals(ciphertext)) ciphertextFound = true;
    }
    assert.ok(ciphertextFound, 'the media store holds the ciphertext as uploaded');
  });
});

describe('cross-signing and key backup', () => {
  test("alice's new device restores the key backup and reads the earlier messages", async () => {
    const alice = await registerUser(server);
    const first = await createSdkClient(server.url, sdkSessionOf(alice), { withCrypto: true });
    await startSdkClient(first, SYNC);
    const crypto = first.getCrypto()!;

    // What a client does with InteractiveAuth: first without auth, then the password stage if asked.
    await crypto.bootstrapCrossSigning({
      authUploadDeviceSigningKeys: async (makeRequest) => {
        try {
          await makeRequest(null);
        } catch (error) {
          if (!(error instanceof MatrixError) || error.httpStatus !== 401) throw error;
          const session = (error.data as { session?: string }).session;
          await makeRequest(passwordAuth(alice, session) as AuthDict);
        }
      },
    });
    const status = await crypto.getCrossSigningStatus();
    assert.ok(status.publicKeysOnDevice, JSON.stringify(status));
    assert.ok(status.privateKeysCachedLocally.masterKey && status.privateKeysCachedLocally.selfSigningKey, JSON.stringify(status));
    assert.ok(await crypto.isCrossSigningReady());
    // The device's signature goes up with /keys/signatures/upload and comes back through /keys/query.
    await eventually('the device to be signed by its self-signing key', async () => (await crypto.getDeviceVerificationStatus(alice.userId, alice.deviceId))?.crossSigningVerified);

    await crypto.resetKeyBackup();
    const version = await eventually('the backup to be active', () => crypto.getActiveSessionBackupVersion());
    const backupKey = await crypto.getSessionBackupPrivateKey();
    assert.ok(backupKey, 'the backup decryption key is cached on the first device');

    const { room_id: roomId } = await first.createRoom({
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
    });
    await waitForSdk(first, 'the room to be encrypted', () => first.getRoom(roomId)?.hasEncryptionStateEvent());
    const history = ['Allergy: penicillin', 'Plan: switch to clindamycin'];
    for (const body of history) await first.sendTextMessage(roomId, body);
    await waitForDecrypted(first, roomId, history);

    // The megolm session reaches the server's backup.
    await eventually('the room key in the server-side backup', async () => {
      const res = await alice.api.get(`/_matrix/client/v3/room_keys/keys?version=${encodeURIComponent(version)}`);
      return res.status === 200 && Object.keys(res.body.rooms?.[roomId]?.sessions ?? {}).length > 0;
    }, 20_000);

    const session = await loginWithSdk(server.url, { localpart: alice.localpart, password: alice.password, deviceName: 'new laptop' });
    const second = await createSdkClient(server.url, session, { withCrypto: true });
    const secondCrypto = second.getCrypto()!;
    await secondCrypto.storeSessionBackupPrivateKey(backupKey, version);
    const restored = await secondCrypto.restoreKeyBackup();
    assert.ok(restored.total >= 1 && restored.imported >= 1, JSON.stringify(restored));

    await startSdkClient(second, SYNC);
    await waitForDecrypted(second, roomId, history);
  });
});
