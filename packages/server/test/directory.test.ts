import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { login, passwordAuth, registerUser, uniqueName, TEST_PASSWORD, type TestUser } from './support/users.ts';
import { signInWithSecondFactor } from './support/sign-in.ts';

const V3 = '/_matrix/client/v3';

describe('room aliases, the room directory and the user directory', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  const alias = (name = uniqueName('alias')) => `#${name}:test.local`;

  async function createRoom(user: TestUser, body: Record<string, unknown> = {}): Promise<string> {
    const res = await user.api.post(`${V3}/createRoom`, body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.room_id;
  }

  async function join(user: TestUser, roomId: string) {
    const res = await user.api.post(`${V3}/join/${enc(roomId)}`, {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  async function serverAdmin() {
    const localpart = uniqueName('admin');
    await server.services.accounts.createUser({ localpart, password: TEST_PASSWORD, admin: true });
    // Administrators always sign in with a second factor.
    return signInWithSecondFactor(server, { localpart, password: TEST_PASSWORD });
  }

  function assertError(res: { status: number; body: { errcode?: string } }, status: number, errcode: string) {
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.errcode, errcode);
  }

  describe('aliases', () => {
    test('an alias given at createRoom resolves to the room, on this server', async () => {
      const alice = await registerUser(server);
      const name = uniqueName('ward');
      const roomId = await createRoom(alice, { room_alias_name: name });
      const res = await alice.api.get(`${V3}/directory/room/${enc(`#${name}:test.local`)}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { room_id: roomId, servers: ['test.local'] });
    });

    test('a joined member adds an alias; it resolves and is listed among the room\'s aliases', async () => {
      const alice = await registerUser(server);
      const roomId = await createRoom(alice);
      const a = alias();
      const put = await alice.api.put(`${V3}/directory/room/${enc(a)}`, { room_id: roomId });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.deepEqual(put.body, {});
      assert.equal((await alice.api.get(`${V3}/directory/room/${enc(a)}`)).body.room_id, roomId);
      const list = await alice.api.get(`${V3}/rooms/${enc(roomId)}/aliases`);
      assert.equal(list.status, 200);
      assert.deepEqual(list.body, { aliases: [a] });
    });

    test('a taken alias is 409 M_UNKNOWN', async () => {
      const alice = await registerUser(server);
      const roomId = await createRoom(alice);
      const other = await createRoom(alice);
      const a = alias();
      assert.equal((await alice.api.put(`${V3}/directory/room/${enc(a)}`, { room_id: roomId })).status, 200);
      const again = await alice.api.put(`${V3}/directory/room/${enc(a)}`, { room_id: other });
      assertError(again, 409, 'M_UNKNOWN');
      assert.match(again.body.error, /already exists/);
      assert.equal((await alice.api.get(`${V3}/directory/room/${enc(a)}`)).body.room_id, roomId, 'the first mapping stays');
    });

    test('aliases of other servers and malformed aliases are 400 M_INVALID_PARAM', async () => {
      const alice = await registerUser(server);
      const roomId = await createRoom(alice);
      for (const bad of ['#elsewhere:example.org', '#nocolon', '#:test.local', `#has space:test.local`, `#${'x'.repeat(250)}:test.local`, '#x:bad server']) {
        const res = await alice.api.put(`${V3}/directory/room/${enc(bad)}`, { room_id: roomId });
        assertError(res, 400, 'M_INVALID_PARAM');
      }
      assertError(await alice.api.put(`${V3}/directory/room/${enc('noHash:test.local')}`, { room_id: roomId }), 400, 'M_INVALID_PARAM');
    });

    test('only joined members may add an alias (403 otherwise, also for unknown rooms)', async () => {
      const alice = await registerUser(server);
      const mallory = await registerUser(server);
      const roomId = await createRoom(alice);
      assertError(await mallory.api.put(`${V3}/directory/room/${enc(alias())}`, { room_id: roomId }), 403, 'M_FORBIDDEN');
      assertError(await mallory.api.put(`${V3}/directory/room/${enc(alias())}`, { room_id: '!nosuchroom:test.local' }), 403, 'M_FORBIDDEN');
      assertError(await alice.api.put(`${V3}/directory/room/${enc(alias())}`, { room_id: 'not-a-room' }), 400, 'M_BAD_JSON');
    });

    test('unknown and remote aliases are 404 M_NOT_FOUND', async () => {
      const alice = await registerUser(server);
      assertError(await alice.api.get(`${V3}/directory/room/${enc(alias())}`), 404, 'M_NOT_FOUND');
      assertError(await alice.api.get(`${V3}/directory/room/${enc('#x:example.org')}`), 404, 'M_NOT_FOUND');
      assertError(await alice.api.get(`${V3}/directory/room/${enc('#bad')}`), 400, 'M_INVALID_PARAM');
    });

    test('every alias endpoint needs a signed-in caller', async () => {
      const a = enc(alias());
      for (const res of [
        await server.api.get(`${V3}/directory/room/${a}`),
        await server.api.put(`${V3}/directory/room/${a}`, { room_id: '!x:test.local' }),
        await server.api.delete(`${V3}/directory/room/${a}`),
        await server.api.get(`${V3}/rooms/${enc('!x:test.local')}/aliases`),
      ]) {
        assertError(res, 401, 'M_MISSING_TOKEN');
      }
    });

    test('the alias\'s creator may delete it even without power in the room', async () => {
      const alice = await registerUser(server);
      const bob = await registerUser(server);
      const roomId = await createRoom(alice, { preset: 'public_chat' });
      await join(bob, roomId);
      const a = alias();
      assert.equal((await bob.api.put(`${V3}/directory/room/${enc(a)}`, { room_id: roomId })).status, 200);
      const del = await bob.api.delete(`${V3}/directory/room/${enc(a)}`);
      assert.equal(del.status, 200, JSON.stringify(del.body));
      assert.deepEqual(del.body, {});
      assertError(await bob.api.get(`${V3}/directory/room/${enc(a)}`), 404, 'M_NOT_FOUND');
    });

    test('a member who may change the canonical alias deletes others\' aliases; plain members get 403', async () => {
      const alice = await registerUser(server);
      const bob = await registerUser(server);
      const carol = await registerUser(server);
      const roomId = await createRoom(alice, { preset: 'public_chat' });
      await join(bob, roomId);
      await join(carol, roomId);
      const a = alias();
      assert.equal((await bob.api.put(`${V3}/directory/room/${enc(a)}`, { room_id: roomId })).status, 200);
      assertError(await carol.api.delete(`${V3}/directory/room/${enc(a)}`), 403, 'M_FORBIDDEN');
      assert.equal((await alice.api.delete(`${V3}/directory/room/${enc(a)}`)).status, 200);
      assertError(await alice.api.delete(`${V3}/directory/room/${enc(a)}`), 404, 'M_NOT_FOUND');
    });

    test('a server admin may delete any alias; strangers may not', async () => {
      const alice = await registerUser(server);
      const stranger = await registerUser(server);
      const admin = await serverAdmin();
      const name = uniqueName('icu');
      await createRoom(alice, { room_alias_name: name });
      const a = `#${name}:test.local`;
      assertError(await stranger.api.delete(`${V3}/directory/room/${enc(a)}`), 403, 'M_FORBIDDEN');
      assert.equal((await admin.api.delete(`${V3}/directory/room/${enc(a)}`)).status, 200);
      assertError(await alice.api.get(`${V3}/directory/room/${enc(a)}`), 404, 'M_NOT_FOUND');
    });

    test('deleting the canonical alias also removes it from the room\'s m.room.canonical_alias', async () => {
      const alice = await registerUser(server);
      const name = uniqueName('cardio');
      const roomId = await createRoom(alice, { room_alias_name: name });
      const canonical = async () => {
        const row = await server.storage.events.currentStateEvent(roomId, 'm.room.canonical_alias', '');
        return row && (JSON.parse(row.json) as { content: Record<string, unknown> }).content;
      };
      assert.deepEqual(await canonical(), { alias: `#${name}:test.local` });
      assert.equal((await alice.api.delete(`${V3}/directory/room/${enc(`#${name}:test.local`)}`)).status, 200);
      assert.deepEqual(await canonical(), {});
    });

    test('listing a room\'s aliases needs membership: 403 for others', async () => {
      const alice = await registerUser(server);
      const mallory = await registerUser(server);
      const roomId = await createRoom(alice, { room_alias_name: uniqueName('a') });
      assertError(await mallory.api.get(`${V3}/rooms/${enc(roomId)}/aliases`), 403, 'M_FORBIDDEN');
      assertError(await mallory.api.get(`${V3}/rooms/${enc('!nosuch:test.local')}/aliases`), 403, 'M_FORBIDDEN');
      const empty = await createRoom(alice);
      assert.deepEqual((await alice.api.get(`${V3}/rooms/${enc(empty)}/aliases`)).body, { aliases: [] });
    });
  });

  describe('room directory visibility', () => {
    test('rooms are private unless created public; the room\'s moderator may publish and unpublish', async () => {
      const alice = await registerUser(server);
      const roomId = await createRoom(alice);
      const visibility = () => alice.api.get(`${V3}/directory/list/room/${enc(roomId)}`);
      assert.deepEqual((await visibility()).body, { visibility: 'private' });
      assert.equal((await alice.api.put(`${V3}/directory/list/room/${enc(roomId)}`, { visibility: 'public' })).status, 200);
      assert.deepEqual((await visibility()).body, { visibility: 'public' });
      assert.equal((await alice.api.put(`${V3}/directory/list/room/${enc(roomId)}`, { visibility: 'private' })).status, 200);
      assert.deepEqual((await visibility()).body, { visibility: 'private' });
      assert.equal((await alice.api.put(`${V3}/directory/list/room/${enc(roomId)}`, {})).status, 200, 'visibility defaults to public');
      assert.deepEqual((await visibility()).body, { visibility: 'public' });

      const created = await createRoom(alice, { visibility: 'public' });
      assert.deepEqual((await alice.api.get(`${V3}/directory/list/room/${enc(created)}`)).body, { visibility: 'public' });
    });

    test('members without power get 403; outsiders of a private room and unknown rooms get 404', async () => {
      const alice = await registerUser(server);
      const bob = await registerUser(server);
      const mallory = await registerUser(server);
      const roomId = await createRoom(alice, { preset: 'public_chat' });
      await join(bob, roomId);
      assertError(await bob.api.put(`${V3}/directory/list/room/${enc(roomId)}`, { visibility: 'public' }), 403, 'M_FORBIDDEN');
      assertError(await mallory.api.get(`${V3}/directory/list/room/${enc(roomId)}`), 404, 'M_NOT_FOUND');
      assertError(await mallory.api.put(`${V3}/directory/list/room/${enc(roomId)}`, { visibility: 'public' }), 404, 'M_NOT_FOUND');
      assertError(await alice.api.get(`${V3}/directory/list/room/${enc('!nosuch:test.local')}`), 404, 'M_NOT_FOUND');
      assertError(await alice.api.put(`${V3}/directory/list/room/${enc('!nosuch:test.local')}`, { visibility: 'public' }), 404, 'M_NOT_FOUND');
      assertError(await alice.api.put(`${V3}/directory/list/room/${enc(roomId)}`, { visibility: 'secret' }), 400, 'M_BAD_JSON');

      assert.equal((await alice.api.put(`${V3}/directory/list/room/${enc(roomId)}`, { visibility: 'public' })).status, 200);
      assert.deepEqual((await mallory.api.get(`${V3}/directory/list/room/${enc(roomId)}`)).body, { visibility: 'public' }, 'a published room is no secret');
      assertError(await mallory.api.put(`${V3}/directory/list/room/${enc(roomId)}`, { visibility: 'private' }), 403, 'M_FORBIDDEN');
    });

    test('a server admin may publish a room they are not in', async () => {
      const alice = await registerUser(server);
      const admin = await serverAdmin();
      const roomId = await createRoom(alice);
      assert.deepEqual((await admin.api.get(`${V3}/directory/list/room/${enc(roomId)}`)).body, { visibility: 'private' });
      assert.equal((await admin.api.put(`${V3}/directory/list/room/${enc(roomId)}`, { visibility: 'public' })).status, 200);
      assert.deepEqual((await alice.api.get(`${V3}/directory/list/room/${enc(roomId)}`)).body, { visibility: 'public' });
    });
  });

  describe('public rooms', () => {
    test('an empty directory is a valid answer', async () => {
      const fresh = await startTestServer();
      try {
        const alice = await registerUser(fresh);
        for (const res of [await alice.api.get(`${V3}/publicRooms`), await alice.api.post(`${V3}/publicRooms`, {})]) {
          assert.equal(res.status, 200);
          assert.deepEqual(res.body, { chunk: [], total_room_count_estimate: 0 });
        }
      } finally {
        await fresh.close();
      }
    });

    test('needs a signed-in caller: nothing is listed anonymously', async () => {
      assertError(await server.api.get(`${V3}/publicRooms`), 401, 'M_MISSING_TOKEN');
      assertError(await server.api.post(`${V3}/publicRooms`, {}), 401, 'M_MISSING_TOKEN');
    });

    test('a room created public is listed with its name, topic, alias, join rule and member count', async () => {
      const alice = await registerUser(server);
      const bob = await registerUser(server);
      const name = uniqueName('oncall');
      const term = uniqueName('Topic');
      const roomId = await createRoom(alice, { visibility: 'public', room_alias_name: name, name: 'On-call cardiology', topic: `Handover ${term}` });
      await join(bob, roomId);
      const privateRoom = await createRoom(alice, { name: `Private ${term}` });
      const res = await bob.api.post(`${V3}/publicRooms`, { filter: { generic_search_term: term.toUpperCase() } });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.chunk, [
        {
          room_id: roomId,
          num_joined_members: 2,
          world_readable: false,
          guest_can_join: false,
          join_rule: 'public',
          name: 'On-call cardiology',
          topic: `Handover ${term}`,
          canonical_alias: `#${name}:test.local`,
        },
      ]);
      assert.equal(res.body.total_room_count_estimate, 1);
      assert.ok(!JSON.stringify(res.body).includes(privateRoom));
      const all = await bob.api.get(`${V3}/publicRooms`);
      assert.ok(all.body.chunk.some((r: { room_id: string }) => r.room_id === roomId));
      assert.ok(!all.body.chunk.some((r: { room_id: string }) => r.room_id === privateRoom));
    });

    test('the search term matches name, topic and alias case-insensitively', async () => {
      const alice = await registerUser(server);
      const tag = uniqueName('zq');
      const byName = await createRoom(alice, { visibility: 'public', name: `Ward ${tag.toUpperCase()} team` });
      const byTopic = await createRoom(alice, { visibility: 'public', topic: `about ${tag}` });
      const byAlias = await createRoom(alice, { visibility: 'public', room_alias_name: `${tag}-alias` });
      const res = await alice.api.post(`${V3}/publicRooms`, { filter: { generic_search_term: tag } });
      assert.deepEqual(res.body.chunk.map((r: { room_id: string }) => r.room_id).sort(), [byName, byTopic, byAlias].sort());
      const none = await alice.api.post(`${V3}/publicRooms`, { filter: { generic_search_term: `${tag}nothing` } });
      assert.deepEqual(none.body, { chunk: [], total_room_count_estimate: 0 });
    });

    test('pages with limit and since, largest rooms first, forwards and back', async () => {
      const users = await Promise.all([1, 2, 3].map(() => registerUser(server)));
      const tag = uniqueName('pg');
      const rooms: string[] = [];
      for (let i = 0; i < 4; i++) rooms.push(await createRoom(users[0]!, { visibility: 'public', name: `${tag} ${i}` }));
      // Three members in the first room, two in the second, one in the others.
      await join(users[1]!, rooms[0]!);
      await join(users[2]!, rooms[0]!);
      await join(users[1]!, rooms[1]!);
      const filter = { generic_search_term: tag };
      const first = await users[0]!.api.post(`${V3}/publicRooms`, { filter, limit: 3 });
      assert.deepEqual(first.body.chunk.slice(0, 2).map((r: { room_id: string }) => r.room_id), [rooms[0], rooms[1]], 'largest first');
      assert.deepEqual(first.body.chunk.map((r: { num_joined_members: number }) => r.num_joined_members), [3, 2, 1]);
      assert.equal(first.body.chunk.length, 3);
      assert.equal(first.body.total_room_count_estimate, 4);
      assert.equal(first.body.prev_batch, undefined);
      assert.equal(typeof first.body.next_batch, 'string');
      const second = await users[0]!.api.post(`${V3}/publicRooms`, { filter, limit: 3, since: first.body.next_batch });
      assert.equal(second.body.chunk.length, 1);
      assert.equal(second.body.next_batch, undefined);
      assert.equal(typeof second.body.prev_batch, 'string');
      const seen = [...first.body.chunk, ...second.body.chunk].map((r: { room_id: string }) => r.room_id);
      assert.deepEqual([...seen].sort(), [...rooms].sort(), 'every room exactly once');
      const back = await users[0]!.api.post(`${V3}/publicRooms`, { filter, limit: 3, since: second.body.prev_batch });
      assert.deepEqual(back.body.chunk, first.body.chunk);
      const viaGet = await users[0]!.api.get(`${V3}/publicRooms?limit=1`);
      assert.equal(viaGet.status, 200);
      assert.equal(viaGet.body.chunk.length, 1);
      assert.equal(typeof viaGet.body.next_batch, 'string');
    });

    test('bad tokens and limits are 400; another server\'s directory is 403', async () => {
      const alice = await registerUser(server);
      assertError(await alice.api.get(`${V3}/publicRooms?since=garbage`), 400, 'M_INVALID_PARAM');
      assertError(await alice.api.get(`${V3}/publicRooms?limit=0`), 400, 'M_INVALID_PARAM');
      assertError(await alice.api.post(`${V3}/publicRooms`, { limit: 'ten' }), 400, 'M_BAD_JSON');
      assertError(await alice.api.get(`${V3}/publicRooms?server=example.org`), 403, 'M_FORBIDDEN');
      assert.equal((await alice.api.get(`${V3}/publicRooms?server=test.local`)).status, 200);
    });

    test('room_types filters by the room type, null meaning rooms without one', async () => {
      const alice = await registerUser(server);
      const tag = uniqueName('sp');
      const space = await createRoom(alice, { visibility: 'public', name: tag, creation_content: { type: 'm.space' } });
      const plain = await createRoom(alice, { visibility: 'public', name: tag });
      const ids = async (roomTypes: Array<string | null>) =>
        (await alice.api.post(`${V3}/publicRooms`, { filter: { generic_search_term: tag, room_types: roomTypes } })).body.chunk.map((r: { room_id: string }) => r.room_id);
      assert.deepEqual(await ids(['m.space']), [space]);
      assert.deepEqual(await ids([null]), [plain]);
      const both = await alice.api.post(`${V3}/publicRooms`, { filter: { generic_search_term: tag } });
      assert.equal(both.body.chunk.find((r: { room_id: string }) => r.room_id === space).room_type, 'm.space');
    });
  });

  describe('user directory', () => {
    const search = (user: TestUser | { api: TestUser['api'] }, body: Record<string, unknown>) => user.api.post(`${V3}/user_directory/search`, body);
    const ids = (res: { body: { results: Array<{ user_id: string }> } }) => res.body.results.map((r) => r.user_id);

    test('finds people who share a room, by localpart or display name, case-insensitively', async () => {
      const tag = uniqueName('dr');
      const alice = await registerUser(server);
      const bob = await registerUser(server, { localpart: `${tag}bob` });
      const carol = await registerUser(server);
      await carol.api.put(`${V3}/profile/${enc(carol.userId)}/displayname`, { displayname: `Dr ${tag} Müller` });
      await bob.api.put(`${V3}/profile/${enc(bob.userId)}/avatar_url`, { avatar_url: 'mxc://test.local/abc' });
      const roomId = await createRoom(alice, { invite: [bob.userId, carol.userId] });
      assert.deepEqual((await search(alice, { search_term: tag })).body, { results: [], limited: false }, 'invited is not yet sharing a room');
      await join(bob, roomId);
      await join(carol, roomId);

      const res = await search(alice, { search_term: tag.toUpperCase() });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.results.sort((a: { user_id: string }, b: { user_id: string }) => a.user_id.localeCompare(b.user_id)), [
        { user_id: bob.userId, display_name: bob.localpart, avatar_url: 'mxc://test.local/abc' },
        { user_id: carol.userId, display_name: `Dr ${tag} Müller` },
      ].sort((a, b) => a.user_id.localeCompare(b.user_id)));
      assert.equal(res.body.limited, false);
      assert.deepEqual(ids(await search(alice, { search_term: `MÜLLER ${tag}` })), [carol.userId], 'every word must match, Unicode case-insensitively');
      assert.deepEqual(ids(await search(alice, { search_term: bob.userId })), [bob.userId], 'a whole user id matches');
      assert.deepEqual(ids(await search(alice, { search_term: 'test.local' })).includes(bob.userId), false, 'the server name alone matches no one');
    });

    test('strangers are not found; people in published rooms are', async () => {
      const tag = uniqueName('rn');
      const alice = await registerUser(server);
      const nurse = await registerUser(server, { localpart: `${tag}nurse` });
      const lobbyist = await registerUser(server, { localpart: `${tag}lobby` });
      await createRoom(nurse);
      const unlisted = await createRoom(lobbyist, { preset: 'public_chat' });
      assert.deepEqual(ids(await search(alice, { search_term: tag })), [], 'a joinable but unlisted room does not count');
      assert.equal((await lobbyist.api.put(`${V3}/directory/list/room/${enc(unlisted)}`, { visibility: 'public' })).status, 200);
      assert.deepEqual(ids(await search(alice, { search_term: tag })), [lobbyist.userId]);
    });

    test('never shows deactivated users or the searcher', async () => {
      const tag = uniqueName('gone');
      const alice = await registerUser(server, { localpart: `${tag}alice` });
      const leaver = await registerUser(server, { localpart: `${tag}leaver` });
      const roomId = await createRoom(alice, { invite: [leaver.userId] });
      await join(leaver, roomId);
      assert.deepEqual(ids(await search(alice, { search_term: tag })), [leaver.userId]);
      const challenge = await leaver.api.post(`${V3}/account/deactivate`, {});
      const done = await leaver.api.post(`${V3}/account/deactivate`, { auth: passwordAuth(leaver, challenge.body.session) });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      assert.deepEqual(ids(await search(alice, { search_term: tag })), []);
    });

    test('limit defaults to 10, is capped at 50, and limited says when results were cut', async () => {
      const tag = uniqueName('many');
      const alice = await registerUser(server);
      const roomId = await createRoom(alice, { preset: 'public_chat' });
      const others: TestUser[] = [];
      for (let i = 0; i < 12; i++) others.push(await registerUser(server, { localpart: `${tag}u${i}` }));
      for (const other of others) await join(other, roomId);
      const byDefault = await search(alice, { search_term: tag });
      assert.equal(byDefault.body.results.length, 10);
      assert.equal(byDefault.body.limited, true);
      const two = await search(alice, { search_term: tag, limit: 2 });
      assert.equal(two.body.results.length, 2);
      assert.equal(two.body.limited, true);
      const big = await search(alice, { search_term: tag, limit: 1000 });
      assert.equal(big.body.results.length, 12);
      assert.equal(big.body.limited, false);
      const exact = await search(alice, { search_term: `${tag}u1` });
      assert.equal(exact.body.results[0].user_id, others[1]!.userId, 'an exact localpart match ranks first');
    });

    test('a blank term finds no one; bad bodies are 400; anonymous callers are 401', async () => {
      const alice = await registerUser(server);
      assert.deepEqual((await search(alice, { search_term: '   ' })).body, { results: [], limited: false });
      assertError(await search(alice, {}), 400, 'M_MISSING_PARAM');
      assertError(await search(alice, { search_term: 5 }), 400, 'M_BAD_JSON');
      assertError(await search(server, { search_term: 'a' }), 401, 'M_MISSING_TOKEN');
    });
  });
});
