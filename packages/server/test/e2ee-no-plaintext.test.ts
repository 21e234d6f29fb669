/**
 * "The database holds no plaintext of any message sent in an encrypted room." matrix-js-sdk clients
 * with Rust crypto exchange messages (a reply both ways and an edit) carrying a unique marker in an
 * encrypted room; then every byte the server keeps is searched for it: every file of the data folder
 * (SQLite database, WAL, media, keys) and, on PostgreSQL, every row of every table as text, and the
 * server's own log at debug level. A control marker sent in clear in an unencrypted room must be
 * found by the same search, so a search that reads nothing cannot pass.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { PendingEventOrdering, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import type { RoomMessageEventContent } from 'matrix-js-sdk/lib/@types/events.js';
import pg from 'pg';
import { encryptedRoomOfTwo } from './support/encrypted-room.ts';
import { closeWithSdkClients, waitForSdk } from './support/sdk.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
const log: Buffer[] = [];
before(async () => {
  const logStream = new PassThrough();
  logStream.on('data', (chunk: Buffer) => log.push(chunk));
  server = await startTestServer({ log_level: 'debug' }, { logStream });
});
after(() => closeWithSdkClients(server));

const SYNC = { initialSyncLimit: 20, lazyLoadMembers: false, pendingEventOrdering: PendingEventOrdering.Detached };

/** Everything the server stores, as one string per place: files (latin1, so any byte sequence survives) and PostgreSQL rows. */
async function everythingStored(): Promise<Map<string, string>> {
  const places = new Map<string, string>();
  const entries = await readdir(server.dataDir, { recursive: true, withFileTypes: true });
  for (const entry of entries.filter((e) => e.isFile())) {
    const path = join(entry.parentPath, entry.name);
    places.set(path, (await readFile(path)).toString('latin1'));
  }
  if (server.config.database.kind === 'postgres') {
    const client = new pg.Client({ connectionString: server.config.database.url });
    await client.connect();
    try {
      const { rows: tables } = await client.query<{ table_name: string }>("select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'");
      assert.ok(tables.length > 10, 'the schema was found');
      for (const { table_name: table } of tables) {
        // A whole row as text: every column, whatever its type (bytea as hex).
        const { rows } = await client.query<{ row: string }>(`select t::text as row from "${table.replace(/"/g, '""')}" t`);
        places.set(`table ${table}`, rows.map((r) => r.row).join('\n'));
      }
    } finally {
      await client.end();
    }
  }
  places.set('server log', Buffer.concat(log).toString('latin1'));
  return places;
}

/** Where `marker` occurs: as text, or hex-encoded (a bytea column). */
function placesHolding(places: Map<string, string>, marker: string): string[] {
  const hex = Buffer.from(marker).toString('hex');
  return [...places].filter(([, text]) => text.includes(marker) || text.toLowerCase().includes(hex)).map(([place]) => place);
}

test('no plaintext of an encrypted room anywhere the server keeps data; the same search finds a plaintext control', async () => {
  const secret = `SECRET-${randomBytes(8).toString('hex')}`;
  const control = `CONTROL-${randomBytes(8).toString('hex')}`;
  const { bob, aliceClient, bobClient, roomId } = await encryptedRoomOfTwo(server, SYNC);

  const { event_id: first } = await aliceClient.sendTextMessage(roomId, `Patient ${secret}: potassium 6.1`);
  await bobClient.sendMessage(roomId, { msgtype: 'm.text', body: `Re ${secret}: repeat the sample`, 'm.relates_to': { 'm.in_reply_to': { event_id: first } } } as RoomMessageEventContent);
  await aliceClient.sendMessage(roomId, {
    msgtype: 'm.text',
    body: `* Patient ${secret}: potassium 6.4`,
    'm.new_content': { msgtype: 'm.text', body: `Patient ${secret}: potassium 6.4` },
    'm.relates_to': { rel_type: 'm.replace', event_id: first },
  } as RoomMessageEventContent);
  const decrypted = (client: MatrixClient) =>
    (client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? []).filter((e: MatrixEvent) => e.isEncrypted() && !e.isDecryptionFailure() && String(e.getContent().body).includes(secret));
  for (const client of [aliceClient, bobClient]) {
    await waitForSdk(client, 'all three messages decrypted', () => decrypted(client).length === 3, { timeoutMs: 30_000 });
  }

  const plainRoom = await aliceClient.createRoom({ invite: [bob.userId] });
  await aliceClient.sendTextMessage(plainRoom.room_id, `Canteen menu ${control}`);

  // Let the server settle (receipts, key uploads after the sends) before reading its storage.
  await new Promise((r) => setTimeout(r, 500));
  const places = await everythingStored();
  assert.ok(placesHolding(places, control).length > 0, 'the search finds a message sent in clear (control)');
  assert.deepEqual(placesHolding(places, secret), [], 'no plaintext of the encrypted room anywhere');
});
