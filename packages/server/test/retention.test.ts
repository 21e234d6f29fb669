/**
 * Retention: a room's m.room.retention policy, the organisation default and a message's own
 * org.caduceus.expires_at decide when its content is purged; the purge removes the messages, their
 * media (file and download) and the leftovers of redactions, and the room keeps working.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { auditEntries, staff } from './support/admin.ts';
import { createRoom, join, send, setState, sync, timelineBodies } from './support/rooms.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { registerUser, type TestUser } from './support/users.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const EXPIRES_AT = 'org.caduceus.expires_at';
let txn = 0;

const retentionState = (maxLifetime: number, minLifetime?: number) => ({
  type: 'm.room.retention',
  state_key: '',
  content: { max_lifetime: maxLifetime, ...(minLifetime !== undefined ? { min_lifetime: minLifetime } : {}) },
});

async function sendContent(user: TestUser, roomId: string, type: string, content: Record<string, unknown>) {
  return user.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/${enc(type)}/ret${process.pid}-${++txn}`, content);
}

async function upload(server: TestServer, user: TestUser, bytes: Buffer = randomBytes(256)) {
  const res = await fetch(`${server.url}/_matrix/media/v3/upload`, { method: 'POST', headers: { Authorization: `Bearer ${user.accessToken}`, 'Content-Type': 'image/png' }, body: bytes });
  const body = (await res.json()) as { content_uri: string };
  assert.equal(res.status, 200, JSON.stringify(body));
  const mediaId = body.content_uri.split('/').pop()!;
  const sha256 = (await server.storage.media.get(mediaId))!.sha256!;
  return { uri: body.content_uri, mediaId, file: joinPath(server.dataDir, 'media', sha256.slice(0, 2), sha256.slice(2, 4), sha256) };
}

const download = (user: TestUser, mediaId: string) => user.api.get(`/_matrix/client/v1/media/download/test.local/${mediaId}`);

async function messageBodies(user: TestUser, roomId: string) {
  const res = await user.api.get(`/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=100`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body.chunk as Array<{ type: string; content: { body?: string } }>).filter((e) => e.type === 'm.room.message').map((e) => e.content.body);
}

describe('retention: room policy and message lifespan', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let officer: TestUser;
  before(async () => {
    server = await startTestServer({ retention_min_allowed: '1m', retention_max_allowed: '30d', retention_purge_interval: '0', retention_redaction_grace: '1h' });
    alice = await registerUser(server);
    bob = await registerUser(server);
    ({ officer } = await staff(server));
  });
  after(() => server.close());

  test('messages in a room with a retention policy are purged on schedule, and the room still syncs and accepts messages', async () => {
    const roomId = await createRoom(alice, { invite: [bob.userId], initial_state: [retentionState(HOUR)] });
    await join(bob, roomId);
    const first = await send(alice, roomId, 'handover: bed 4 needs review');
    const second = await send(bob, roomId, 'acknowledged');
    const last = await send(alice, roomId, 'thanks');
    const before = await sync(bob);

    server.clock.advance(30 * MINUTE);
    await server.services.retention.runOnce();
    assert.deepEqual(await messageBodies(bob, roomId), ['thanks', 'acknowledged', 'handover: bed 4 needs review'], 'nothing goes before its time');

    server.clock.advance(31 * MINUTE);
    const report = await server.services.retention.runOnce();
    assert.ok(report.deletedEvents >= 2 && report.prunedEvents >= 1, JSON.stringify(report));

    // Gone from every read path: /messages, /event, /context, and the database.
    assert.deepEqual(await messageBodies(bob, roomId), [undefined], 'only the newest event stays, redacted-looking');
    for (const eventId of [first, second]) {
      assert.equal((await bob.api.get(`/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(eventId)}`)).status, 404);
      assert.equal((await bob.api.get(`/_matrix/client/v3/rooms/${enc(roomId)}/context/${enc(eventId)}`)).status, 404);
      assert.equal(await server.storage.events.get(eventId), undefined);
    }
    const newest = await bob.api.get(`/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(last)}`);
    assert.equal(newest.status, 200);
    assert.deepEqual(newest.body.content, {});
    assert.equal(newest.body.unsigned.redacted_because.content.reason, 'retention');
    assert.ok(!(await server.storage.events.get(last))!.json.includes('thanks'), 'the newest event keeps no content');

    // Members still see the policy as room state.
    const policy = await bob.api.get(`/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.retention/`);
    assert.deepEqual(policy.body, { max_lifetime: HOUR });

    // Initial and incremental sync work, and new messages arrive.
    const initial = await sync(bob);
    assert.ok(initial.rooms.join[roomId], 'the room is still there');
    assert.deepEqual(timelineBodies(initial.rooms.join[roomId]).filter(Boolean), []);
    const incremental = await sync(bob, { since: before.next_batch });
    assert.deepEqual(timelineBodies(incremental.rooms?.join?.[roomId]).filter(Boolean), []);
    await send(alice, roomId, 'new shift');
    const next = await sync(bob, { since: initial.next_batch });
    assert.deepEqual(timelineBodies(next.rooms.join[roomId]), ['new shift']);
  });

  test('a message with org.caduceus.expires_at is purged at that time, in plain and encrypted rooms alike', async () => {
    const roomId = await createRoom(alice);
    const now = server.clock.now();
    const ephemeral = await sendContent(alice, roomId, 'm.room.message', { msgtype: 'm.text', body: 'door code 4711', [EXPIRES_AT]: now + 10 * MINUTE });
    assert.equal(ephemeral.status, 200, JSON.stringify(ephemeral.body));
    const wrapped = await sendContent(alice, roomId, 'm.room.encrypted', { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'CIPHER', sender_key: 'k', session_id: 's', device_id: 'D', [EXPIRES_AT]: now + 10 * MINUTE });
    assert.equal(wrapped.status, 200, JSON.stringify(wrapped.body));
    await send(alice, roomId, 'this one stays');

    server.clock.advance(9 * MINUTE);
    await server.services.retention.runOnce();
    assert.ok(await server.storage.events.get(ephemeral.body.event_id));

    server.clock.advance(2 * MINUTE);
    await server.services.retention.runOnce();
    assert.equal(await server.storage.events.get(ephemeral.body.event_id), undefined);
    assert.equal(await server.storage.events.get(wrapped.body.event_id), undefined);
    assert.deepEqual(await messageBodies(alice, roomId), ['this one stays']);
  });

  test('a lifespan shorter than the organisation allows, or not a timestamp, is refused', async () => {
    const roomId = await createRoom(alice);
    const tooSoon = await sendContent(alice, roomId, 'm.room.message', { msgtype: 'm.text', body: 'x', [EXPIRES_AT]: server.clock.now() + 30_000 });
    assert.equal(tooSoon.status, 400);
    assert.equal(tooSoon.body.errcode, 'M_INVALID_PARAM');
    assert.match(tooSoon.body.error, /at least 1 minute/);
    const notANumber = await sendContent(alice, roomId, 'm.room.message', { msgtype: 'm.text', body: 'x', [EXPIRES_AT]: 'tomorrow' });
    assert.equal(notANumber.status, 400);

    // The room's min_lifetime raises the floor.
    const guarded = await createRoom(alice, { initial_state: [retentionState(DAY, HOUR)] });
    const underRoomMinimum = await sendContent(alice, guarded, 'm.room.message', { msgtype: 'm.text', body: 'x', [EXPIRES_AT]: server.clock.now() + 30 * MINUTE });
    assert.equal(underRoomMinimum.status, 400);
  });

  test('a retention policy outside the organisation range is refused, and changes are audited', async () => {
    const roomId = await createRoom(alice);
    const tooShort = await setState(alice, roomId, 'm.room.retention', { max_lifetime: 30_000 });
    assert.equal(tooShort.status, 403);
    assert.equal(tooShort.body.errcode, 'M_FORBIDDEN');
    assert.match(tooShort.body.error, /from 1 minute to 30 days/);
    const tooLong = await setState(alice, roomId, 'm.room.retention', { max_lifetime: 31 * DAY });
    assert.equal(tooLong.status, 403);
    assert.equal((await setState(alice, roomId, 'm.room.retention', { max_lifetime: 'a week' })).status, 400);
    assert.equal((await setState(alice, roomId, 'm.room.retention', { max_lifetime: HOUR, min_lifetime: 2 * HOUR })).status, 400);
    const refusedAtCreation = await alice.api.post('/_matrix/client/v3/createRoom', { initial_state: [retentionState(1000)] });
    assert.equal(refusedAtCreation.status, 403);

    const ok = await setState(alice, roomId, 'm.room.retention', { max_lifetime: 7 * DAY });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const changes = (await auditEntries(officer, 'retention.room_policy')).filter((e) => e.target?.roomId === roomId);
    assert.equal(changes.length, 1);
    assert.equal(changes[0]!.details.max_lifetime, 7 * DAY);
    const refusals = (await auditEntries(officer, 'event.state')).filter((e) => e.target?.roomId === roomId && e.outcome === 'refused');
    assert.ok(refusals.length >= 2, 'out-of-range attempts are on record');
  });

  test('a shorter policy also applies to messages sent before it', async () => {
    const roomId = await createRoom(alice, { initial_state: [retentionState(30 * DAY)] });
    const early = await send(alice, roomId, 'sent under the long policy');
    assert.equal((await setState(alice, roomId, 'm.room.retention', { max_lifetime: HOUR })).status, 200);
    await send(alice, roomId, 'newest');
    server.clock.advance(HOUR + MINUTE);
    await server.services.retention.runOnce();
    assert.equal(await server.storage.events.get(early), undefined);
  });

  test('expired media is deleted from disk and its download answers 404; bytes another upload shares stay', async () => {
    const roomId = await createRoom(alice, { invite: [bob.userId], initial_state: [retentionState(HOUR)] });
    await join(bob, roomId);
    const keptRoom = await createRoom(alice, { invite: [bob.userId] });
    await join(bob, keptRoom);
    const image = await upload(server, alice);
    const sharedBytes = randomBytes(300);
    const copyA = await upload(server, alice, sharedBytes);
    const copyB = await upload(server, alice, sharedBytes);
    assert.equal(copyA.file, copyB.file, 'identical uploads share one file');
    await sendContent(alice, roomId, 'm.room.message', { msgtype: 'm.image', body: 'wound.png', url: image.uri });
    await sendContent(alice, roomId, 'm.room.message', { msgtype: 'm.image', body: 'copy.png', url: copyA.uri });
    await sendContent(alice, keptRoom, 'm.room.message', { msgtype: 'm.image', body: 'copy.png', url: copyB.uri });
    await send(alice, roomId, 'newest');
    assert.equal((await download(bob, image.mediaId)).status, 200);

    server.clock.advance(HOUR + MINUTE);
    const report = await server.services.retention.runOnce();
    assert.ok(report.deletedMedia >= 2, JSON.stringify(report));
    assert.equal(existsSync(image.file), false, 'the file is gone from disk');
    assert.equal((await download(bob, image.mediaId)).status, 404);
    assert.equal(await server.storage.media.get(image.mediaId), undefined);
    assert.equal((await download(bob, copyA.mediaId)).status, 404);
    assert.equal(existsSync(copyB.file), true, 'bytes another upload still names stay');
    assert.equal((await download(bob, copyB.mediaId)).status, 200);
  });

  test('redacting a message removes the media only it used (after the grace period), never media another message uses', async () => {
    const roomId = await createRoom(alice, { invite: [bob.userId] });
    await join(bob, roomId);
    const own = await upload(server, alice);
    const shared = await upload(server, alice);
    const message = await sendContent(alice, roomId, 'm.room.message', { msgtype: 'm.image', body: 'scan.png', url: own.uri, info: { thumbnail_url: shared.uri } });
    await sendContent(alice, roomId, 'm.room.message', { msgtype: 'm.image', body: 'again', url: shared.uri });
    const edit = await sendContent(alice, roomId, 'm.room.message', {
      msgtype: 'm.text',
      body: '* corrected',
      'm.new_content': { msgtype: 'm.text', body: 'corrected text with details' },
      'm.relates_to': { rel_type: 'm.replace', event_id: message.body.event_id },
    });
    const redact = await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(message.body.event_id)}/red${++txn}`, { reason: 'wrong patient' });
    assert.equal(redact.status, 200);
    await send(alice, roomId, 'newest');

    server.clock.advance(30 * MINUTE);
    await server.services.retention.runOnce();
    assert.equal((await download(bob, own.mediaId)).status, 200, 'kept during the grace period');

    server.clock.advance(31 * MINUTE);
    const report = await server.services.retention.runOnce();
    assert.ok(report.erasedRedactions >= 1, JSON.stringify(report));
    assert.equal((await download(bob, own.mediaId)).status, 404);
    assert.equal(existsSync(own.file), false);
    assert.equal((await download(bob, shared.mediaId)).status, 200, 'media another message uses stays');
    assert.equal((await bob.api.get(`/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(edit.body.event_id)}`)).status, 404, 'edits of the redacted message are erased too');
  });

  test('the audit trail keeps ids and counts of each purge, never content', async () => {
    const roomId = await createRoom(alice, { initial_state: [retentionState(HOUR)] });
    const gone = await send(alice, roomId, 'AUDIT-CANARY-TEXT');
    await send(alice, roomId, 'newest');
    server.clock.advance(HOUR + MINUTE);
    await server.services.retention.runOnce();
    const purges = (await auditEntries(officer, 'retention.purge')).filter((e) => e.target?.roomId === roomId);
    assert.equal(purges.length, 1);
    assert.ok(String(purges[0]!.details.event_ids).includes(gone));
    assert.ok(purges[0]!.details.events >= 1);
    assert.ok(!JSON.stringify(await auditEntries(officer, 'retention.purge')).includes('AUDIT-CANARY'));
  });

  test('to-device messages nobody collected are deleted after the configured age', async () => {
    const device = bob.deviceId;
    const res = await alice.api.put(`/_matrix/client/v3/sendToDevice/m.test/td${++txn}`, { messages: { [bob.userId]: { [device]: { hello: 'world' } } } });
    assert.equal(res.status, 200);
    await server.services.retention.runOnce();
    server.clock.advance(31 * DAY);
    const report = await server.services.retention.runOnce();
    assert.ok(report.deletedToDevice >= 1, JSON.stringify(report));
    const body = await sync(bob);
    assert.deepEqual((body.to_device?.events ?? []).filter((e: { type: string }) => e.type === 'm.test'), []);
  });
});

describe('retention: organisation default', () => {
  let server: TestServer;
  let alice: TestUser;
  before(async () => {
    server = await startTestServer({ retention_default_max_lifetime: '7d', retention_min_allowed: '1h', retention_purge_interval: '0' });
    alice = await registerUser(server);
  });
  after(() => server.close());

  test('rooms without a policy follow the organisation default; a room policy overrides it', async () => {
    const plain = await createRoom(alice);
    const longer = await createRoom(alice, { initial_state: [retentionState(30 * DAY)] });
    const inPlain = await send(alice, plain, 'default lifetime');
    await send(alice, plain, 'newest');
    const inLonger = await send(alice, longer, 'kept a month');
    await send(alice, longer, 'newest');

    server.clock.advance(6 * DAY);
    await server.services.retention.runOnce();
    assert.ok(await server.storage.events.get(inPlain));

    server.clock.advance(DAY + HOUR);
    await server.services.retention.runOnce();
    assert.equal(await server.storage.events.get(inPlain), undefined);
    assert.ok(await server.storage.events.get(inLonger));
  });
});
