import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { ADMIN, startStaffServer } from './support/admin.ts';
import { createRoom, send } from './support/rooms.ts';
import type { TestServer } from './support/server.ts';
import { registerUser, type TestUser } from './support/users.ts';

describe('admin API: audit', () => {
  let server: TestServer, admin: TestUser, officer: TestUser, clinician: TestUser;
  before(async () => ({ server, admin, officer, clinician } = await startStaffServer()));
  after(() => server.close());

  test('a security officer searches by room, user, action and time, page by page', async () => {
    const user = await registerUser(server);
    const roomId = await createRoom(user);
    for (let i = 0; i < 3; i++) await send(user, roomId, `message ${i}`);

    const first = await officer.api.get(`${ADMIN}/audit/entries?room_id=${enc(roomId)}&action=event.send&limit=2`);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.entries.length, 2);
    assert.ok(first.body.entries.every((e: any) => e.action === 'event.send' && e.target.roomId === roomId && e.actor.user_id === user.userId));
    const second = await officer.api.get(`${ADMIN}/audit/entries?room_id=${enc(roomId)}&action=event.send&limit=2&from=${first.body.next_from}`);
    assert.equal(second.body.entries.length, 1);
    assert.equal(second.body.next_from, undefined);

    const byUser = await officer.api.get(`${ADMIN}/audit/entries?user_id=${enc(user.userId)}`);
    assert.ok(byUser.body.entries.length >= 4);
    const future = await officer.api.get(`${ADMIN}/audit/entries?from_time=${enc(new Date(Date.now() + 86_400_000).toISOString())}`);
    assert.deepEqual(future.body.entries, []);
    // The search itself is on record.
    const searches = await officer.api.get(`${ADMIN}/audit/entries?action=admin.audit.search`);
    assert.ok(searches.body.entries.some((e: any) => e.actor.user_id === officer.userId && e.outcome === 'success'));
  });

  test('search by user, room, action and outcome returns exactly the matching entries, across pages', async () => {
    const [alice, bob] = [await registerUser(server), await registerUser(server)];
    const aliceRoom = await createRoom(alice);
    const bobRoom = await createRoom(bob);
    await bob.api.post(`/_matrix/client/v3/rooms/${enc(aliceRoom)}/join`, {}); // refused: not invited
    for (let i = 0; i < 3; i++) {
      await send(alice, aliceRoom, `a ${i}`);
      await send(bob, bobRoom, `b ${i}`);
    }
    const all = await server.storage.audit.entries({ limit: 1_000_000 });
    const lastSeq = all[all.length - 1]!.seq;
    const target = (e: { target: string }) => JSON.parse(e.target) as Record<string, string>;
    const expected = {
      user: all.filter((e) => e.actorUserId === alice.userId || target(e).userId === alice.userId).map((e) => e.seq),
      room: all.filter((e) => target(e).roomId === bobRoom).map((e) => e.seq),
      action: all.filter((e) => e.action.startsWith('event.') && target(e).roomId === aliceRoom).map((e) => e.seq),
      refused: all.filter((e) => e.outcome === 'refused' && e.actorUserId === bob.userId).map((e) => e.seq),
    };
    // More than one page (of two) each, so paging is exercised.
    assert.ok(expected.user.length > 2 && expected.room.length > 2 && expected.action.length > 2 && expected.refused.length >= 1);

    /** Every page of a search, two entries at a time. */
    async function pages(query: string) {
      const seqs: number[] = [];
      let pageCount = 0;
      for (let from: number | undefined; ; pageCount++) {
        const res = await officer.api.get(`${ADMIN}/audit/entries?${query}&limit=2${from !== undefined ? `&from=${from}` : ''}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.ok(res.body.entries.length <= 2);
        // The searches themselves are on record (they name the user or room searched for): left out here.
        seqs.push(...res.body.entries.map((e: any) => e.seq).filter((seq: number) => seq <= lastSeq));
        if (res.body.next_from === undefined) break;
        from = res.body.next_from;
      }
      return { seqs, pageCount };
    }
    const byUser = await pages(`user_id=${enc(alice.userId)}`);
    assert.deepEqual(byUser.seqs, expected.user);
    assert.ok(byUser.pageCount > 1);
    assert.deepEqual((await pages(`room_id=${enc(bobRoom)}`)).seqs, expected.room);
    assert.deepEqual((await pages(`room_id=${enc(aliceRoom)}&action=event.`)).seqs, expected.action);
    assert.deepEqual((await pages(`user_id=${enc(bob.userId)}&outcome=refused`)).seqs, expected.refused);
    // An exact action is not a prefix: "event.send" does not match "event.send_x", nor "event" "event.send".
    const exact = await officer.api.get(`${ADMIN}/audit/entries?room_id=${enc(aliceRoom)}&action=event`);
    assert.deepEqual(exact.body.entries, []);
  });

  test('exports come as JSON lines, CSV and a FHIR bundle, and are recorded', async () => {
    const jsonl = await admin.api.get(`${ADMIN}/audit/export?format=jsonl&user_id=${enc(admin.userId)}`);
    assert.equal(jsonl.status, 200);
    assert.match(jsonl.headers.get('content-type') ?? '', /application\/x-ndjson/);
    const lines = (jsonl.body as string).trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.length > 0 && lines.every((l) => l.actor.user_id === admin.userId || l.target.userId === admin.userId));

    const csv = await officer.api.get(`${ADMIN}/audit/export?format=csv`);
    assert.equal(csv.status, 200);
    assert.match(csv.body as string, /^seq,time,actor_user_id/);

    const fhir = await officer.api.get(`${ADMIN}/audit/export?format=fhir`);
    assert.equal(fhir.status, 200);
    const bundle = JSON.parse(fhir.body as string);
    assert.equal(bundle.resourceType, 'Bundle');
    assert.ok(bundle.entry.length > 0);
    assert.equal(bundle.entry[0].resource.resourceType, 'AuditEvent');

    const exports = await officer.api.get(`${ADMIN}/audit/entries?action=audit.export`);
    assert.ok(exports.body.entries.filter((e: any) => e.details.via === 'admin-api').length >= 3);
  });

  test('verify reports an intact chain', async () => {
    const res = await officer.api.get(`${ADMIN}/audit/verify`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.ok, true);
    assert.ok(res.body.entries > 0);
    assert.deepEqual(res.body.problems, []);
  });

  test('a plain user gets 403, without a token 401, bad filters 400', async () => {
    for (const path of ['/audit/entries', '/audit/export?format=jsonl', '/audit/verify']) {
      const res = await clinician.api.get(ADMIN + path);
      assert.equal(res.status, 403, path);
      assert.equal(res.body.errcode, 'M_FORBIDDEN');
      assert.equal((await server.api.get(ADMIN + path)).status, 401, path);
    }
    for (const query of ['format=xml', 'format=csv&from_time=yesterday']) {
      const res = await officer.api.get(`${ADMIN}/audit/export?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.errcode, 'M_INVALID_PARAM');
    }
    assert.equal((await officer.api.get(`${ADMIN}/audit/entries?user_id=alice`)).body.errcode, 'M_INVALID_PARAM');
    const refused = await officer.api.get(`${ADMIN}/audit/entries?action=admin.audit.search`);
    assert.ok(refused.body.entries.some((e: any) => e.actor.user_id === clinician.userId && e.outcome === 'refused'));
  });
});
