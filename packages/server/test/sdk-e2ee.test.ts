/**
 * End-to-end encryption through real matrix-js-sdk clients with Rust crypto: the server carries only
 * ciphertext. Two people in an encrypted room exchange messages in both directions and each decrypts
 * all of them (Olm sessions via /keys/claim, room keys via /sendToDevice, device discovery via
 * /keys/query and /sync device_lists); the database holds none of the plaintext.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PendingEventOrdering, type MatrixEvent, type Room } from 'matrix-js-sdk';
import { encryptedRoomOfTwo } from './support/encrypted-room.ts';
import { closeWithSdkClients, waitForSdk } from './support/sdk.ts';
import { startTestServer, testEngine, type TestServer } from './support/server.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => closeWithSdkClients(server));

const SYNC = { initialSyncLimit: 20, lazyLoadMembers: false, pendingEventOrdering: PendingEventOrdering.Detached };

function decryptedBodies(room: Room): string[] {
  return room
    .getLiveTimeline()
    .getEvents()
    .filter((e: MatrixEvent) => e.getType() === 'm.room.message' && e.isEncrypted() && !e.isDecryptionFailure())
    .map((e: MatrixEvent) => String(e.getContent().body));
}

test('two people in an encrypted room read each other\'s messages; the server stores only ciphertext', async () => {
  const { aliceClient, bobClient, roomId } = await encryptedRoomOfTwo(server, SYNC);

  const secrets = ['Bed 12: troponin rising, please review', 'On my way, 5 minutes', 'ECG attached in chart', 'Thanks, starting heparin'];
  await aliceClient.sendTextMessage(roomId, secrets[0]!);
  await bobClient.sendTextMessage(roomId, secrets[1]!);
  await aliceClient.sendTextMessage(roomId, secrets[2]!);
  await bobClient.sendTextMessage(roomId, secrets[3]!);

  for (const client of [aliceClient, bobClient]) {
    await waitForSdk(client, 'every message decrypted', () => {
      const room = client.getRoom(roomId);
      return room && secrets.every((s) => decryptedBodies(room).includes(s));
    }, { timeoutMs: 30_000 });
  }

  // Everything the server stored of the room is ciphertext: no message text anywhere in the database.
  if (testEngine === 'sqlite') {
    const files = readdirSync(server.dataDir).filter((f) => f.startsWith('caduceus.sqlite'));
    const bytes = files.map((f) => readFileSync(join(server.dataDir, f)).toString('latin1')).join('');
    for (const secret of secrets) assert.ok(!bytes.includes(secret), `plaintext found in the database: ${secret}`);
  }
  const rows = await server.storage.events.page(roomId, Number.MAX_SAFE_INTEGER, 'b', 100);
  const messages = rows.filter((r) => r.type === 'm.room.encrypted' || r.type === 'm.room.message');
  assert.ok(messages.length >= secrets.length);
  assert.ok(messages.every((r) => r.type === 'm.room.encrypted'), 'every message was stored encrypted');
  for (const row of messages) for (const secret of secrets) assert.ok(!row.json.includes(secret));
});
