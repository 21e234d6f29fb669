/**
 * Legal hold: an administrator places a hold on a room or a user, and nothing it covers is purged or
 * erased (expired messages, redaction leftovers, media) until the hold is released; then the next
 * purge catches up. Placing and releasing are audited; only administrators may do either.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { ADMIN, auditEntries, staff } from './support/admin.ts';
import { createRoom, join, send } from './support/rooms.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { registerUser, type TestUser } from './support/users.ts';

const HOUR = 3_600_000;
const retention = { type: 'm.room.retention', state_key: '', content: { max_lifetime: HOUR } };
let txn = 0;

describe('legal hold', () => {
  let server: TestServer;
  let admin: TestUser;
  let officer: TestUser;
  let clinician: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  before(async () => {
    server = await startTestServer({ retention_min_allowed: '1m', retention_purge_interval: '0', retention_redaction_grace: '0' });
    ({ admin, officer, clinician } = await staff(server));
    alice = await registerUser(server);
    bob = await registerUser(server);
  });
  after(() => server.close());

  const hold = async (target: { user_id?: string; room_id?: string }) => {
    const res = await admin.api.post(`${ADMIN}/legal-holds`, { ...target, reason: 'Matter 2025-017' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.hold_id as string;
  };
  const release = async (holdId: string) => {
    const res = await admin.api.delete(`${ADMIN}/legal-holds/${holdId}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const exists = async (eventId: string) => (await server.storage.events.get(eventId)) !== undefined;

  test('a hold on a room stops its purge; releasing it lets the next purge catch up', async () => {
    const roomId = await createRoom(alice, { initial_state: [retention] });
    const message = await send(alice, roomId, 'under investigation');
    await send(alice, roomId, 'newest');
    const holdId = await hold({ room_id: roomId });
    const listed = await admin.api.get(`${ADMIN}/legal-holds`);
    assert.deepEqual(
      listed.body.holds.filter((h: { hold_id: string }) => h.hold_id === holdId).map((h: Record<string, unknown>) => [h.room_id, h.reason, h.created_by]),
      [[roomId, 'Matter 2025-017', admin.userId]],
    );

    server.clock.advance(2 * HOUR);
    await server.services.retention.runOnce();
    assert.ok(await exists(message), 'held: not purged');
    const read = await alice.api.get(`/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(message)}`);
    assert.equal(read.body.content.body, 'under investigation');

    await release(holdId);
    await server.services.retention.runOnce();
    assert.equal(await exists(message), false, 'released: purged at the next run');
    assert.equal((await admin.api.get(`${ADMIN}/legal-holds`)).body.holds.some((h: { hold_id: string }) => h.hold_id === holdId), false);
  });

  test("a hold on a user keeps that user's messages, and only theirs", async () => {
    const roomId = await createRoom(alice, { invite: [bob.userId], initial_state: [retention] });
    await join(bob, roomId);
    const fromAlice = await send(alice, roomId, 'from alice');
    const fromBob = await send(bob, roomId, 'from bob');
    await send(bob, roomId, 'newest');
    const holdId = await hold({ user_id: alice.userId });

    server.clock.advance(2 * HOUR);
    await server.services.retention.runOnce();
    assert.ok(await exists(fromAlice));
    assert.equal(await exists(fromBob), false);

    await release(holdId);
    await server.services.retention.runOnce();
    assert.equal(await exists(fromAlice), false);
  });

  test('a hold suspends the erasure of a redacted message: its media stays until the hold ends', async () => {
    const roomId = await createRoom(alice, { invite: [bob.userId] });
    await join(bob, roomId);
    const res = await fetch(`${server.url}/_matrix/media/v3/upload`, { method: 'POST', headers: { Authorization: `Bearer ${alice.accessToken}`, 'Content-Type': 'image/png' }, body: randomBytes(128) });
    const mediaId = ((await res.json()) as { content_uri: string }).content_uri.split('/').pop()!;
    const sent = await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/lh${++txn}`, { msgtype: 'm.image', body: 'photo', url: `mxc://test.local/${mediaId}` });
    const holdId = await hold({ room_id: roomId });
    const redacted = await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(sent.body.event_id)}/lh${++txn}`, {});
    assert.equal(redacted.status, 200);

    // Clients see it redacted at once, whatever the hold.
    const seen = await bob.api.get(`/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(sent.body.event_id)}`);
    assert.deepEqual(seen.body.content, {});

    server.clock.advance(HOUR);
    await server.services.retention.runOnce();
    const download = () => bob.api.get(`/_matrix/client/v1/media/download/test.local/${mediaId}`);
    assert.equal((await download()).status, 200, 'held: the media is kept');

    await release(holdId);
    await server.services.retention.runOnce();
    assert.equal((await download()).status, 404);
  });

  test('placing and releasing holds is audited, and only administrators may do it', async () => {
    const roomId = await createRoom(alice);
    const holdId = await hold({ room_id: roomId });
    await release(holdId);
    const placed = (await auditEntries(officer, 'admin.retention.hold')).filter((e) => e.target?.roomId === roomId);
    assert.equal(placed.length, 1);
    assert.equal(placed[0]!.outcome, 'success');
    assert.equal(placed[0]!.actor.user_id, admin.userId);
    assert.equal(placed[0]!.details.holdId, holdId);
    const released = (await auditEntries(officer, 'admin.retention.release')).filter((e) => e.target?.holdId === holdId);
    assert.equal(released.length, 1);

    for (const outsider of [clinician, officer]) {
      const refused = await outsider.api.post(`${ADMIN}/legal-holds`, { room_id: roomId, reason: 'x' });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.errcode, 'M_FORBIDDEN');
    }
    assert.equal((await clinician.api.get(`${ADMIN}/legal-holds`)).status, 403);
  });

  test('bad hold requests are refused with a Matrix error', async () => {
    const roomId = await createRoom(alice);
    const both = await admin.api.post(`${ADMIN}/legal-holds`, { room_id: roomId, user_id: alice.userId, reason: 'x' });
    assert.equal(both.status, 400);
    assert.equal(both.body.errcode, 'M_INVALID_PARAM');
    assert.equal((await admin.api.post(`${ADMIN}/legal-holds`, { reason: 'x' })).status, 400);
    assert.equal((await admin.api.post(`${ADMIN}/legal-holds`, { room_id: roomId })).status, 400, 'a reason is required');
    assert.equal((await admin.api.post(`${ADMIN}/legal-holds`, { room_id: roomId, reason: '   ' })).status, 400);
    assert.equal((await admin.api.post(`${ADMIN}/legal-holds`, { room_id: '!nowhere:test.local', reason: 'x' })).status, 404);
    assert.equal((await admin.api.post(`${ADMIN}/legal-holds`, { user_id: '@ghost:test.local', reason: 'x' })).status, 404);
    assert.equal((await admin.api.post(`${ADMIN}/legal-holds`, { user_id: '@someone:other.example', reason: 'x' })).status, 400);
    const unknown = await admin.api.delete(`${ADMIN}/legal-holds/hold_00000000-0000-0000-0000-000000000000`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errcode, 'M_NOT_FOUND');
  });
});
