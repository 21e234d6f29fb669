/**
 * Disaster-recovery drill: a populated server is backed up while it serves traffic, then restored into a
 * fresh data folder (and a fresh database on the PostgreSQL leg) and started again. Plus the ways a
 * restore must refuse: wrong key, damaged file, a target that is not empty.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backup } from '@caduceus/server';
import { Direction } from 'matrix-js-sdk';
import pg from 'pg';
import { enc } from '../../server/test/support/api.ts';
import { createRoom, invite, join as joinRoom, send } from '../../server/test/support/rooms.ts';
import { createSdkClient, loginWithSdk, stopSdkClients } from '../../server/test/support/sdk.ts';
import { registerUser, type TestUser } from '../../server/test/support/users.ts';
import { createSite, login, type Site, type TestServer } from './support/cli.ts';

const PASSPHRASE = 'drill passphrase: six random words here';
// Users here sign in with passwords (no second factor), as most tests do.
const OPEN = { registration: 'open', mfa: 'optional' } as const;
const withPassphrase = { env: { CADUCEUS_BACKUP_PASSPHRASE: PASSPHRASE } };

/** An m.room.encrypted payload as a client would send it: the server only ever sees ciphertext. */
const ciphertext = (i: number) => ({
  algorithm: 'm.megolm.v1.aes-sha2',
  sender_key: 'Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg',
  session_id: 'c2Vzc2lvbg',
  device_id: 'DEVICE',
  ciphertext: randomBytes(48 + i).toString('base64').replace(/=+$/, ''),
});

async function upload(server: TestServer, user: TestUser, bytes: Buffer): Promise<string> {
  const res = await fetch(`${server.url}/_matrix/media/v3/upload?filename=scan.png`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${user.accessToken}`, 'Content-Type': 'image/png' },
    body: bytes,
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { content_uri: string }).content_uri;
}

async function download(server: TestServer, token: string, mxc: string): Promise<Buffer> {
  const res = await fetch(`${server.url}/_matrix/client/v1/media/download/${mxc.slice('mxc://'.length)}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

/** The whole timeline of a room, oldest first, read back page by page through /messages. */
async function messages(api: TestUser['api'], roomId: string) {
  const events: Array<{ type: string; event_id: string; content: Record<string, unknown> }> = [];
  let from: string | undefined;
  for (;;) {
    const res = await api.get(`/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=100${from ? `&from=${enc(from)}` : ''}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    events.push(...res.body.chunk);
    if (!res.body.end || res.body.chunk.length === 0) return events.reverse();
    from = res.body.end;
  }
}

/** What a database holds: tables and their rows, to tell "empty" apart. */
async function postgresTableCount(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(`select count(*)::int as n from pg_tables where schemaname not in ('pg_catalog', 'information_schema')`);
    return rows[0].n as number;
  } finally {
    await client.end();
  }
}

describe('caduceus backup: disaster-recovery drill', () => {
  let source: Site;
  let server: TestServer;
  let work: string;
  let file: string;
  let alice: TestUser;
  let bob: TestUser;
  let plainRoom: string;
  let secretRoom: string;
  let mxc: string;
  const image = randomBytes(300_000);
  const sentBefore: string[] = [];
  const encryptedBefore: Array<Record<string, unknown>> = [];
  /** Bodies of the messages bob sent while the backup ran, in order, acknowledged by the server. */
  const sentDuring: string[] = [];
  let serverKey: unknown;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'caduceus-backup-test-'));
    file = join(work, 'drill.age');
    source = await createSite(OPEN);
    server = await source.startServer();
    alice = await registerUser(server as never);
    bob = await registerUser(server as never);

    plainRoom = await createRoom(alice, { name: 'Ward 4 handover' });
    await invite(alice, plainRoom, bob.userId);
    await joinRoom(bob, plainRoom);
    for (let i = 0; i < 20; i++) {
      const body = `handover note ${i}`;
      await send(i % 2 ? bob : alice, plainRoom, body);
      sentBefore.push(body);
    }
    secretRoom = await createRoom(alice, {
      preset: 'private_chat',
      invite: [bob.userId],
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
    });
    await joinRoom(bob, secretRoom);
    for (let i = 0; i < 5; i++) {
      const content = ciphertext(i);
      const res = await alice.api.put(`/_matrix/client/v3/rooms/${enc(secretRoom)}/send/m.room.encrypted/enc${i}`, content);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      encryptedBefore.push(content);
    }
    mxc = await upload(server, alice, image);
    const accountData = await alice.api.put(`/_matrix/client/v3/user/${enc(alice.userId)}/account_data/org.example.drill`, { ward: 4 });
    assert.equal(accountData.status, 200);
    serverKey = (await server.api.get('/_matrix/key/v2/server')).body.verify_keys;

    // The backup runs while bob keeps sending; every send must still succeed.
    let backingUp = true;
    const sender = (async () => {
      for (let i = 0; backingUp; i++) {
        await send(bob, plainRoom, `during backup ${i}`);
        sentDuring.push(`during backup ${i}`);
      }
    })();
    const made = await source.cli(['backup', 'create', '--out', file], withPassphrase);
    backingUp = false;
    await sender;
    assert.equal(made.code, 0, made.stderr);
    assert.equal(made.stdout.split('\n')[0], file);
    assert.ok(sentDuring.length > 0, 'messages were sent while the backup ran');
    // The backup is on record in the live trail, with the checksum the command printed.
    const recorded = await server.storage.audit.entries({ limit: 10, action: 'admin.backup.create' });
    assert.equal(recorded.length, 1);
    assert.equal(recorded[0]!.outcome, 'success');
    assert.equal(recorded[0]!.actorAddress, 'local');
    assert.equal(JSON.parse(recorded[0]!.details).sha256, /sha256: ([0-9a-f]{64})/.exec(made.stdout)?.[1]);
    await server.close();
  });

  after(async () => {
    stopSdkClients();
    await source?.close().catch(() => {});
    await rm(work, { recursive: true, force: true });
  });

  test('a server restored into a fresh data folder serves the same users, history, media and signing key', async (t) => {
    const target = await createSite(OPEN);
    t.after(() => target.close());

    const restored = await target.cli(['backup', 'restore', file], withPassphrase);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /audit trail: verified/);
    // The restore is appended to the restored trail, which still verifies.
    const verified = await target.cli(['audit', 'verify']);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    const server2 = await target.startServer();
    const restoreEntries = await server2.storage.audit.entries({ limit: 10, action: 'admin.backup.' });
    assert.deepEqual(restoreEntries.map((e) => [e.action, e.outcome, e.actorAddress]), [['admin.backup.restore', 'success', 'local']]);

    // Users log in with their passwords.
    for (const user of [alice, bob]) {
      const res = await login(server2, user.localpart, user.password);
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    const aliceAgain = { ...alice, api: server2.api.withToken((await login(server2, alice.localpart, alice.password)).body.access_token) };

    // The history is there, including the messages acknowledged before the backup; of those sent
    // during it, a consistent prefix (the snapshot's), with no gap.
    const bodies = (await messages(aliceAgain.api, plainRoom)).filter((e) => e.type === 'm.room.message').map((e) => e.content.body as string);
    assert.deepEqual(bodies.slice(0, sentBefore.length), sentBefore);
    assert.deepEqual(bodies.slice(sentBefore.length), sentDuring.slice(0, bodies.length - sentBefore.length));

    // The encrypted room still carries its setting and the exact ciphertext.
    const state = await aliceAgain.api.get(`/_matrix/client/v3/rooms/${enc(secretRoom)}/state/m.room.encryption/`);
    assert.equal(state.body.algorithm, 'm.megolm.v1.aes-sha2');
    const encrypted = (await messages(aliceAgain.api, secretRoom)).filter((e) => e.type === 'm.room.encrypted').map((e) => e.content);
    assert.deepEqual(encrypted, encryptedBefore);

    // Media comes back byte for byte; account data too; the server still signs with the same key.
    assert.ok((await download(server2, aliceAgain.api.accessToken!, mxc)).equals(image));
    const data = await aliceAgain.api.get(`/_matrix/client/v3/user/${enc(alice.userId)}/account_data/org.example.drill`);
    assert.deepEqual(data.body, { ward: 4 });
    assert.deepEqual((await server2.api.get('/_matrix/key/v2/server')).body.verify_keys, serverKey);

    // A matrix-js-sdk client signs in with its password and reads the latest history.
    const session = await loginWithSdk(server2.url, { localpart: bob.localpart, password: bob.password });
    const client = await createSdkClient(server2.url, session);
    const page = await client.createMessagesRequest(plainRoom, null, 30, Direction.Backward);
    const sdkBodies = page.chunk.filter((e) => e.type === 'm.room.message').map((e) => e.content.body as string).reverse();
    assert.ok(sdkBodies.length > 0);
    assert.deepEqual(sdkBodies, bodies.slice(-sdkBodies.length));
  });

  test('backup verify checks a good backup without writing anything', async () => {
    const res = await source.cli(['backup', 'verify', file], withPassphrase);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^ok\n/);
    assert.match(res.stdout, /media: 1 files/);
  });

  test('a wrong passphrase is refused by verify and restore, and the target stays empty', async (t) => {
    const target = await createSite(OPEN);
    t.after(() => target.close());
    const wrong = { env: { CADUCEUS_BACKUP_PASSPHRASE: 'not the drill passphrase at all' } };
    for (const command of ['verify', 'restore']) {
      const res = await target.cli(['backup', command, file], wrong);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /wrong passphrase or key/);
    }
    assert.deepEqual(await readdir(target.dataDir), []);
    if (target.settings.database_url) assert.equal(await postgresTableCount(target.settings.database_url), 0);
  });

  test('a backup with one flipped byte is refused as damaged, and the target stays empty', async (t) => {
    const target = await createSite(OPEN);
    t.after(() => target.close());
    const bytes = await readFile(file);
    // Well past the header: inside the media file or the manifest, at the end of the archive.
    const at = bytes.length - 70_000;
    bytes.writeUInt8(bytes.readUInt8(at) ^ 0x01, at);
    const damaged = join(work, 'damaged.age');
    await writeFile(damaged, bytes);
    const checked = await target.cli(['backup', 'verify', damaged], withPassphrase);
    assert.equal(checked.code, 1);
    assert.match(checked.stderr, /damaged/);
    const restored = await target.cli(['backup', 'restore', damaged], withPassphrase);
    assert.equal(restored.code, 1);
    assert.match(restored.stderr, /damaged/);
    assert.deepEqual(await readdir(target.dataDir), []);
    if (target.settings.database_url) assert.equal(await postgresTableCount(target.settings.database_url), 0);

    const truncated = join(work, 'truncated.age');
    await writeFile(truncated, (await readFile(file)).subarray(0, 100_000));
    const cut = await target.cli(['backup', 'verify', truncated], withPassphrase);
    assert.equal(cut.code, 1);
    assert.match(cut.stderr, /damaged or incomplete/);
  });

  test('restore refuses a data folder that is not empty, and leaves it as it was', async (t) => {
    const target = await createSite(OPEN);
    t.after(() => target.close());
    await writeFile(join(target.dataDir, 'notes.txt'), 'keep me');
    const res = await target.cli(['backup', 'restore', file], withPassphrase);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /data folder .* is not empty/);
    assert.deepEqual(await readdir(target.dataDir), ['notes.txt']);
  });

  test('on PostgreSQL, restore refuses a database that is not empty', { skip: !process.env.CADUCEUS_TEST_DATABASE_URL && 'SQLite leg' }, async (t) => {
    const emptyFolder = await mkdtemp(join(tmpdir(), 'caduceus-backup-test-'));
    t.after(() => rm(emptyFolder, { recursive: true, force: true }));
    // The source site's database is full; its data folder is not the one restored into.
    const res = await source.cli(['backup', 'restore', file], { env: { ...withPassphrase.env, CADUCEUS_DATA_DIR: emptyFolder } });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /PostgreSQL database .* is not empty/);
    assert.deepEqual(await readdir(emptyFolder), []);
  });

  test('a backup for an age recipient opens only with the matching identity file', async () => {
    const identity = await backupIdentity();
    const other = await backupIdentity();
    const keyFile = join(work, 'identity.txt');
    const otherFile = join(work, 'other-identity.txt');
    await writeFile(keyFile, `# created: test\n${identity.secret}\n`, { mode: 0o600 });
    await writeFile(otherFile, `${other.secret}\n`, { mode: 0o600 });
    const out = join(work, 'recipient.age');

    const made = await source.cli(['backup', 'create', '--out', out, '--recipient', identity.recipient]);
    assert.equal(made.code, 0, made.stderr);
    const ok = await source.cli(['backup', 'verify', out, '--identity-file', keyFile]);
    assert.equal(ok.code, 0, ok.stderr);
    const wrong = await source.cli(['backup', 'verify', out, '--identity-file', otherFile]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /wrong passphrase or key/);
    const withPassphraseInstead = await source.cli(['backup', 'verify', out], withPassphrase);
    assert.equal(withPassphraseInstead.code, 1);
    assert.match(withPassphraseInstead.stderr, /wrong passphrase or key/);
  });

  test('create needs a key and refuses a short passphrase or an existing file, without writing a backup', async () => {
    const none = await source.cli(['backup', 'create', '--out', join(work, 'none.age')]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /needs a key/);
    const short = await source.cli(['backup', 'create', '--out', join(work, 'short.age')], { env: { CADUCEUS_BACKUP_PASSPHRASE: 'short' } });
    assert.equal(short.code, 1);
    assert.match(short.stderr, /at least 12 characters/);
    const existing = await source.cli(['backup', 'create', '--out', file], withPassphrase);
    assert.equal(existing.code, 1);
    assert.match(existing.stderr, /already exists/);
    assert.deepEqual((await readdir(work)).filter((n) => /none|short|partial/.test(n)), []);
    // The passphrase never shows in what the command prints.
    for (const res of [none, short, existing]) assert.doesNotMatch(res.stdout + res.stderr, /drill passphrase/);
  });
});

async function backupIdentity(): Promise<{ secret: string; recipient: string }> {
  const { generateIdentity, identityToRecipient } = await import('age-encryption');
  const secret = await generateIdentity();
  return { secret, recipient: await identityToRecipient(secret) };
}

// The server's backup module is what the commands call; its key parser reads age-keygen's format.
test('an age identity file is read as age-keygen writes it', () => {
  assert.deepEqual(backup.parseIdentityFile('# created: 2026\n# public key: age1x\nAGE-SECRET-KEY-1ABC\n\n'), ['AGE-SECRET-KEY-1ABC']);
});
