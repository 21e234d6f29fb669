/**
 * The audit trail records every security-relevant action with who did it (user, device, address,
 * user agent, request id) and what it concerned — never message content — and the action fails when
 * its entry cannot be written.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { canonicalJson, MatrixError } from '@caduceus/core';
import { verifyAuditTrail } from '../src/compliance/audit/index.ts';
import { READ_COALESCING_MS } from '../src/compliance/audit/trail.ts';
import type { AuditEntryRow } from '../src/storage/index.ts';
import { enc } from './support/api.ts';
import { createRoom, invite, join, roomOfTwo, send, sync } from './support/rooms.ts';
import { startTestServer, testEngine, type TestServer } from './support/server.ts';
import { login, passwordAuth, registerUser, type TestUser } from './support/users.ts';

interface Entry extends Omit<AuditEntryRow, 'target' | 'details'> {
  target: Record<string, string>;
  details: Record<string, unknown>;
  raw: string;
}

/** Every audit entry, newest last, with target and details parsed (and the row as stored, for searching). */
async function entries(server: TestServer): Promise<Entry[]> {
  const rows = await server.storage.audit.entries({ limit: 100_000 });
  return rows.map((r) => ({ ...r, target: JSON.parse(r.target), details: JSON.parse(r.details), raw: JSON.stringify(r) }));
}

const find = (all: Entry[], action: string, where: (e: Entry) => boolean = () => true) => all.filter((e) => e.action === action && where(e));

describe('audit trail: what is recorded', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('registration and sign-in are recorded with the client address, user agent and request id', async () => {
    const user = await registerUser(server);
    const res = await server.api.request('POST', '/_matrix/client/v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.localpart }, password: user.password }, { 'User-Agent': 'AuditTest/1.0' });
    assert.equal(res.status, 200);
    const all = await entries(server);
    assert.equal(find(all, 'auth.register', (e) => e.target.userId === user.userId).length, 1);
    const [signIn] = find(all, 'auth.login', (e) => e.target.deviceId === res.body.device_id);
    assert.ok(signIn, 'the sign-in is on record');
    assert.equal(signIn.outcome, 'success');
    assert.equal(signIn.actorUserId, user.userId);
    assert.equal(signIn.actorDeviceId, res.body.device_id);
    assert.equal(signIn.actorAddress, '127.0.0.1');
    assert.equal(signIn.actorUserAgent, 'AuditTest/1.0');
    assert.equal(signIn.requestId, res.headers.get('x-request-id'));
  });

  test('a failed sign-in is recorded; for a name that is no account, the name is not kept', async () => {
    const user = await registerUser(server);
    const wrong = await server.api.post('/_matrix/client/v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.localpart }, password: 'not the password at all' });
    assert.equal(wrong.status, 403);
    const unknown = await server.api.post('/_matrix/client/v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'hunter2-typed-in-the-wrong-field' }, password: 'whatever it is' });
    assert.equal(unknown.status, 403);
    const all = await entries(server);
    const failures = find(all, 'auth.login', (e) => e.outcome === 'failure');
    assert.ok(failures.some((e) => e.target.userId === user.userId && e.details.reason === 'wrong_password'));
    assert.ok(failures.some((e) => e.details.reason === 'unknown_user' && e.target.userId === undefined));
    assert.ok(!all.some((e) => e.raw.includes('hunter2-typed-in-the-wrong-field')), 'what was typed is not on record');
    assert.ok(!all.some((e) => e.raw.includes('not the password at all')), 'no password is on record');
  });

  test('logout, password change and device deletion are recorded', async () => {
    const user = await registerUser(server);
    const second = await login(server, user);
    const third = await login(server, user);
    assert.equal((await second.api.post('/_matrix/client/v3/logout', {})).status, 200);
    const deleted = await user.api.delete(`/_matrix/client/v3/devices/${enc(third.device_id)}`, { auth: passwordAuth(user) });
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    const changed = await user.api.post('/_matrix/client/v3/account/password', { new_password: 'another horse battery staple', logout_devices: false, auth: passwordAuth(user) });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    const all = await entries(server);
    assert.equal(find(all, 'auth.logout', (e) => e.target.deviceId === second.device_id && e.actorDeviceId === second.device_id).length, 1);
    assert.equal(find(all, 'device.delete', (e) => e.target.deviceId === third.device_id && e.actorDeviceId === user.deviceId).length, 1);
    assert.equal(find(all, 'account.password', (e) => e.target.userId === user.userId && e.actorDeviceId === user.deviceId).length, 1);
    assert.ok(find(all, 'auth.reauth', (e) => e.target.userId === user.userId && e.outcome === 'success').length >= 2);
  });

  test('a key upload is recorded', async () => {
    const user = await registerUser(server);
    const res = await user.api.post('/_matrix/client/v3/keys/upload', { one_time_keys: { 'curve25519:AAAAAQ': 'dGhpcyBpcyBub3QgYSByZWFsIGtleSBidXQgb2s' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [upload] = find(await entries(server), 'keys.upload', (e) => e.target.userId === user.userId);
    assert.equal(upload?.target.deviceId, user.deviceId);
    assert.equal(upload?.details.oneTimeKeys, 1);
  });

  test('room creation and invite, join and leave are recorded', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const roomId = await createRoom(alice);
    await invite(alice, roomId, bob.userId);
    await join(bob, roomId);
    assert.equal((await bob.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/leave`, {})).status, 200);
    const all = await entries(server);
    assert.equal(find(all, 'room.create', (e) => e.target.roomId === roomId && e.actorUserId === alice.userId).length, 1);
    const memberships = find(all, 'room.member', (e) => e.target.roomId === roomId && e.target.userId === bob.userId);
    assert.deepEqual(memberships.map((e) => [e.details.membership, e.actorUserId]), [['invite', alice.userId], ['join', bob.userId], ['leave', bob.userId]]);
    assert.ok(memberships.every((e) => e.target.eventId?.startsWith('$')));
  });

  test('a message send is recorded with its size and content hash, never its content', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice);
    const marker = `PLAINTEXT-MARKER-${Math.random().toString(36).slice(2)}`;
    const content = { msgtype: 'm.text', body: `patient note ${marker}` };
    const res = await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/audit-1`, content);
    assert.equal(res.status, 200);
    const all = await entries(server);
    const [sent] = find(all, 'event.send', (e) => e.target.eventId === res.body.event_id);
    assert.ok(sent, 'the send is on record');
    assert.equal(sent.target.roomId, roomId);
    assert.equal(sent.actorUserId, alice.userId);
    assert.equal(sent.actorDeviceId, alice.deviceId);
    assert.equal(sent.details.type, 'm.room.message');
    assert.equal(sent.details.size, Buffer.byteLength(canonicalJson(content)));
    assert.equal(sent.details.sha256, createHash('sha256').update(canonicalJson(content)).digest('hex'));
    assert.ok(!all.some((e) => e.raw.includes(marker)), 'the content is nowhere in the audit trail');
    // A retried transaction is the same send: no second entry.
    await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/audit-1`, content);
    assert.equal(find(await entries(server), 'event.send', (e) => e.target.eventId === res.body.event_id).length, 1);
  });

  test('sends batched into one write still carry each sender as the actor', async () => {
    const users = await Promise.all([registerUser(server), registerUser(server), registerUser(server)]);
    const roomId = await createRoom(users[0]!, { preset: 'public_chat' });
    for (const u of users.slice(1)) await join(u, roomId);
    const sent = await Promise.all(users.flatMap((u) => [1, 2, 3].map(async (i) => ({ user: u, eventId: await send(u, roomId, `hello ${i}`) }))));
    const all = await entries(server);
    for (const { user, eventId } of sent) {
      const [entry] = find(all, 'event.send', (e) => e.target.eventId === eventId);
      assert.equal(entry?.actorUserId, user.userId);
      assert.equal(entry?.actorDeviceId, user.deviceId);
    }
  });

  test('a redaction is recorded with the event it redacts', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice);
    const eventId = await send(alice, roomId, 'to be redacted');
    const res = await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(eventId)}/r1`, { reason: 'wrong patient' });
    assert.equal(res.status, 200);
    const all = await entries(server);
    const [redaction] = find(all, 'event.redact', (e) => e.target.redacts === eventId);
    assert.equal(redaction?.target.eventId, res.body.event_id);
    assert.ok(!all.some((e) => e.raw.includes('wrong patient')), 'the reason (content) is not on record');
  });

  test('reads through /messages and /sync are recorded once per device, room and minute', async () => {
    const alice = await registerUser(server);
    const roomId = await createRoom(alice);
    await send(alice, roomId, 'hello');
    const reads = async (via: string) => find(await entries(server), 'event.read', (e) => e.target.roomId === roomId && e.actorDeviceId === alice.deviceId && e.details.via === via);
    const messages = () => alice.api.get(`/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b`);

    assert.equal((await messages()).status, 200);
    assert.equal((await reads('messages')).length, 1, 'the first read is on record before the answer');
    await messages();
    assert.equal((await reads('messages')).length, 1, 'a second read in the same minute is coalesced');
    server.clock.advance(READ_COALESCING_MS);
    await messages();
    assert.equal((await reads('messages')).length, 2, 'a read a minute later is recorded again');

    const other = await login(server, alice);
    await sync({ ...alice, api: other.api, accessToken: other.access_token, deviceId: other.device_id });
    const synced = find(await entries(server), 'event.read', (e) => e.target.roomId === roomId && e.actorDeviceId === other.device_id);
    assert.deepEqual(synced.map((e) => e.details.via), ['sync']);
  });

  test("each device's minute runs from its own last record, so devices are not all recorded again at once", async () => {
    const { alice, bob, roomId } = await roomOfTwo(server);
    const readsBy = async (user: TestUser) => find(await entries(server), 'event.read', (e) => e.target.roomId === roomId && e.actorDeviceId === user.deviceId && e.details.via === 'messages');
    const messages = (user: TestUser) => user.api.get(`/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b`);

    await messages(alice);
    server.clock.advance(READ_COALESCING_MS * 0.6);
    await messages(bob);
    server.clock.advance(READ_COALESCING_MS * 0.5);
    // A minute and more since Alice's record, half a minute since Bob's.
    await messages(alice);
    await messages(bob);
    assert.equal((await readsBy(alice)).length, 2, "Alice's read is recorded again");
    assert.equal((await readsBy(bob)).length, 1, "Bob's is not: his minute is not over");
    server.clock.advance(READ_COALESCING_MS * 0.5);
    await messages(bob);
    assert.equal((await readsBy(bob)).length, 2, 'until it is');
  });

  test('a media download is recorded', async () => {
    const alice = await registerUser(server);
    const upload = await fetch(`${server.url}/_matrix/media/v3/upload`, { method: 'POST', headers: { Authorization: `Bearer ${alice.accessToken}`, 'Content-Type': 'text/plain' }, body: 'scan results' });
    const { content_uri: uri } = (await upload.json()) as { content_uri: string };
    const path = uri.replace('mxc://', '');
    const download = await alice.api.get(`/_matrix/client/v1/media/download/${path}`);
    assert.equal(download.status, 200);
    const [read] = find(await entries(server), 'media.read', (e) => e.target.mediaId === uri);
    assert.equal(read?.actorUserId, alice.userId);
    assert.equal(read?.details.via, 'media');
  });

  test('an invite refused by the authorization rules is recorded as refused', async () => {
    const alice = await registerUser(server);
    const mallory = await registerUser(server);
    const bob = await registerUser(server);
    const roomId = await createRoom(alice);
    const res = await mallory.api.post(`/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: bob.userId });
    assert.equal(res.status, 403);
    const [refused] = find(await entries(server), 'room.member', (e) => e.outcome === 'refused' && e.target.roomId === roomId);
    assert.equal(refused?.actorUserId, mallory.userId);
    assert.equal(refused?.target.userId, bob.userId);
    assert.equal(refused?.details.errcode, 'M_FORBIDDEN');
  });

  test('reading a room one is not in is refused and recorded as refused, once per device, room and minute', async () => {
    const alice = await registerUser(server);
    const mallory = await registerUser(server);
    const roomId = await createRoom(alice);
    const eventId = await send(alice, roomId, 'for alice only');
    const refusedReads = async () => find(await entries(server), 'event.read', (e) => e.target.roomId === roomId && e.actorUserId === mallory.userId);

    const paths = {
      messages: `/rooms/${enc(roomId)}/messages?dir=b`,
      context: `/rooms/${enc(roomId)}/context/${enc(eventId)}`,
      event: `/rooms/${enc(roomId)}/event/${enc(eventId)}`,
      state: `/rooms/${enc(roomId)}/state`,
    };
    for (const [via, path] of Object.entries(paths)) {
      const res = await mallory.api.get(`/_matrix/client/v3${path}`);
      assert.equal(res.status, 403, via);
      assert.equal(res.body.errcode, 'M_FORBIDDEN');
    }
    const first = await refusedReads();
    assert.equal(first.length, 1, 'coalesced like reads: one entry per device, room and minute, whatever the path');
    assert.equal(first[0]!.outcome, 'refused');
    assert.equal(first[0]!.actorDeviceId, mallory.deviceId);
    assert.equal(first[0]!.details.via, 'messages');
    // Alice's own reads stay successes, and a refusal does not hide a later read from the record.
    assert.equal((await alice.api.get(`/_matrix/client/v3${paths.state}`)).status, 200);
    server.clock.advance(READ_COALESCING_MS);
    assert.equal((await mallory.api.get(`/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.name/`)).status, 403);
    assert.deepEqual((await refusedReads()).map((e) => [e.outcome, e.details.via]), [['refused', 'messages'], ['refused', 'state']]);
  });

  test('in one write batch, an entry whose job is rolled back leaves no gap: the next entry follows the last kept one', async () => {
    const { writer, audit } = server.services;
    const record = (action: string) => (ctx: { stores: Parameters<typeof audit.record>[1] }) => audit.record({ action, outcome: 'success' }, ctx.stores);
    // Queued together, so they share one transaction; the middle job fails after its entry is written.
    const outcomes = await Promise.allSettled([
      writer.write(record('test.batch.first')),
      writer.write(async (ctx) => {
        await record('test.batch.rolled_back')(ctx);
        throw new MatrixError('M_FORBIDDEN', 'refused after writing');
      }),
      writer.write(record('test.batch.last')),
    ]);
    assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
    const entries = await server.storage.audit.entries({ action: 'test.batch.', limit: 10 });
    assert.deepEqual(entries.map((e) => e.action), ['test.batch.first', 'test.batch.last']);
    assert.equal(entries[1]!.seq, entries[0]!.seq + 1, 'consecutive: the rolled-back entry left no hole');
    assert.equal(entries[1]!.prevHash, entries[0]!.hash, 'chained to the entry that was kept');
  });

  test('everything recorded above forms one intact hash chain', async () => {
    const key = server.services.signingKey;
    const report = await verifyAuditTrail(server.storage.audit, { keyId: key.keyId, publicKeyBase64: key.publicKeyBase64 });
    assert.deepEqual(report.problems, []);
    assert.ok(report.entries > 20);
  });
});

describe('audit trail: an action whose entry cannot be written fails', () => {
  let server: TestServer;
  let alice: TestUser;
  let roomId: string;
  before(async () => {
    server = await startTestServer();
    alice = await registerUser(server);
    roomId = await createRoom(alice);
  });
  after(() => server.close());

  /**
   * Makes the audit table refuse inserts, as a full disk or a broken permission would — all of them,
   * or only those of actions starting with `onlyPrefix`.
   */
  async function breakAuditTable(broken: boolean, onlyPrefix?: string) {
    const when = onlyPrefix ? ` when (new.action like '${onlyPrefix}%')` : '';
    const statements =
      testEngine === 'sqlite'
        ? [broken ? `create trigger audit_broken before insert on audit_log${when} begin select raise(abort, 'audit table unwritable'); end` : 'drop trigger audit_broken']
        : broken
          ? [`create function audit_broken() returns trigger language plpgsql as $$ begin raise exception 'audit table unwritable'; end $$`, `create trigger audit_broken before insert on audit_log for each row${when} execute function audit_broken()`]
          : ['drop trigger audit_broken on audit_log', 'drop function audit_broken()'];
    if (testEngine === 'sqlite') {
      const db = new DatabaseSync((server.config.database as { path: string }).path);
      try {
        for (const s of statements) db.exec(s);
      } finally {
        db.close();
      }
    } else {
      const client = new pg.Client({ connectionString: (server.config.database as { url: string }).url });
      await client.connect();
      try {
        for (const s of statements) await client.query(s);
      } finally {
        await client.end();
      }
    }
  }

  test('a message send answers an error and the message is not stored', async () => {
    await breakAuditTable(true);
    try {
      const res = await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/unaudited`, { msgtype: 'm.text', body: 'must not be stored' });
      assert.equal(res.status, 500);
      assert.equal(res.body.errcode, 'M_UNKNOWN');
    } finally {
      await breakAuditTable(false);
    }
    const messages = await alice.api.get(`/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=50`);
    assert.ok(!JSON.stringify(messages.body.chunk).includes('must not be stored'), 'the message was not stored');
    // With the table writable again, the same send goes through.
    const retry = await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/unaudited`, { msgtype: 'm.text', body: 'now stored' });
    assert.equal(retry.status, 200);
  });

  test('a sign-in answers an error and issues no session', async () => {
    await breakAuditTable(true);
    try {
      const res = await server.api.post('/_matrix/client/v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: alice.localpart }, password: alice.password });
      assert.equal(res.status, 500);
      assert.equal(res.body.access_token, undefined);
    } finally {
      await breakAuditTable(false);
    }
    assert.equal((await server.storage.sessions.listDevices(alice.userId)).length, 1);
  });

  test("an administrator's user creation, device wipe and MFA reset do not happen when their admin entry cannot be written", async () => {
    const admin = await registerUser(server);
    await server.storage.roles.setRoles(admin.userId, ['admin']);
    const victim = await registerUser(server);
    await server.storage.mfa.setTotp(victim.userId, 'ciphertext', 1, Date.now());
    const localpart = `unaudited${Date.now()}`;
    const ADMIN = '/_caduceus/admin/v1';

    await breakAuditTable(true, 'admin.');
    try {
      const created = await admin.api.post(`${ADMIN}/users`, { localpart, password: 'a long enough password 1', roles: ['staff'] });
      assert.equal(created.status, 500, JSON.stringify(created.body));
      const wiped = await admin.api.post(`${ADMIN}/users/${enc(victim.userId)}/devices/${enc(victim.deviceId)}/wipe`, {});
      assert.equal(wiped.status, 500);
      const wipedAll = await admin.api.post(`${ADMIN}/users/${enc(victim.userId)}/devices/wipe`, {});
      assert.equal(wipedAll.status, 500);
      const reset = await admin.api.post(`${ADMIN}/users/${enc(victim.userId)}/reset-mfa`, {});
      assert.equal(reset.status, 500);
    } finally {
      await breakAuditTable(false);
    }
    assert.equal(await server.storage.users.get(`@${localpart}:test.local`), undefined, 'the account was not created');
    assert.deepEqual((await server.storage.sessions.listDevices(victim.userId)).map((d) => d.deviceId), [victim.deviceId], 'the device was not wiped');
    assert.equal((await victim.api.get('/_matrix/client/v3/account/whoami')).status, 200);
    assert.ok(await server.storage.mfa.getTotp(victim.userId), 'the second factor was not removed');
    // None of the actions' own entries (account.create, session.wipe, auth.mfa.remove) was kept either.
    const all = await entries(server);
    assert.deepEqual(find(all, 'session.wipe', (e) => e.target.userId === victim.userId), []);
    assert.deepEqual(find(all, 'auth.mfa.remove', (e) => e.target.userId === victim.userId), []);

    // Writable again: the same calls go through, each with its entry.
    assert.equal((await admin.api.post(`${ADMIN}/users/${enc(victim.userId)}/reset-mfa`, {})).status, 200);
    assert.equal((await admin.api.post(`${ADMIN}/users/${enc(victim.userId)}/devices/${enc(victim.deviceId)}/wipe`, {})).status, 200);
    const after = await entries(server);
    assert.equal(find(after, 'admin.users.reset_mfa', (e) => e.target.userId === victim.userId && e.outcome === 'success').length, 1);
    assert.equal(find(after, 'admin.devices.wipe', (e) => e.target.userId === victim.userId && e.outcome === 'success').length, 1);
  });
});
