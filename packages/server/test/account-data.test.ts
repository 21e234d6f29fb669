import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { registerUser } from './support/users.ts';

const globalData = (userId: string, type: string) => `/_matrix/client/v3/user/${enc(userId)}/account_data/${enc(type)}`;
const roomData = (userId: string, roomId: string, type: string) =>
  `/_matrix/client/v3/user/${enc(userId)}/rooms/${enc(roomId)}/account_data/${enc(type)}`;

const ROOM_A = '!roomA:test.local';
const ROOM_B = '!roomB:test.local';

describe('account data', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('a user stores global account data and reads it back', async () => {
    const alice = await registerUser(server);
    const content = { key: 'abc', nested: { list: [1, 2, 3], flag: true, none: null } };
    const put = await alice.api.put(globalData(alice.userId, 'm.secret_storage.default_key'), content);
    assert.equal(put.status, 200);
    assert.deepEqual(put.body, {});
    const get = await alice.api.get(globalData(alice.userId, 'm.secret_storage.default_key'));
    assert.equal(get.status, 200);
    assert.deepEqual(get.body, content);
  });

  test('a later write replaces the earlier value, and {} is a value like any other', async () => {
    const alice = await registerUser(server);
    await alice.api.put(globalData(alice.userId, 'org.example.settings'), { theme: 'dark', size: 3 });
    await alice.api.put(globalData(alice.userId, 'org.example.settings'), { theme: 'light' });
    assert.deepEqual((await alice.api.get(globalData(alice.userId, 'org.example.settings'))).body, { theme: 'light' });
    assert.equal((await alice.api.put(globalData(alice.userId, 'org.example.settings'), {})).status, 200);
    const cleared = await alice.api.get(globalData(alice.userId, 'org.example.settings'));
    assert.equal(cleared.status, 200);
    assert.deepEqual(cleared.body, {});
  });

  test('unset account data is not found, with errcode M_NOT_FOUND', async () => {
    const alice = await registerUser(server);
    const global = await alice.api.get(globalData(alice.userId, 'm.megolm_backup.v1'));
    assert.equal(global.status, 404);
    assert.equal(global.body.errcode, 'M_NOT_FOUND');
    assert.match(global.headers.get('content-type') ?? '', /application\/json/);
    const room = await alice.api.get(roomData(alice.userId, ROOM_A, 'm.tag'));
    assert.equal(room.status, 404);
    assert.equal(room.body.errcode, 'M_NOT_FOUND');
  });

  test('per-room data is kept apart from global data and from other rooms', async () => {
    const alice = await registerUser(server);
    assert.equal((await alice.api.put(roomData(alice.userId, ROOM_A, 'm.tag'), { tags: { 'm.favourite': { order: 1 } } })).status, 200);
    assert.equal((await alice.api.put(roomData(alice.userId, ROOM_B, 'm.tag'), { tags: {} })).status, 200);
    assert.deepEqual((await alice.api.get(roomData(alice.userId, ROOM_A, 'm.tag'))).body, { tags: { 'm.favourite': { order: 1 } } });
    assert.deepEqual((await alice.api.get(roomData(alice.userId, ROOM_B, 'm.tag'))).body, { tags: {} });
    assert.equal((await alice.api.get(globalData(alice.userId, 'm.tag'))).status, 404);

    await alice.api.put(globalData(alice.userId, 'org.example.both'), { where: 'global' });
    assert.equal((await alice.api.get(roomData(alice.userId, ROOM_A, 'org.example.both'))).status, 404);
  });

  test("users cannot read or write each other's account data", async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    await alice.api.put(globalData(alice.userId, 'org.example.private'), { secret: 1 });
    await alice.api.put(roomData(alice.userId, ROOM_A, 'org.example.private'), { secret: 2 });
    for (const res of [
      await bob.api.get(globalData(alice.userId, 'org.example.private')),
      await bob.api.put(globalData(alice.userId, 'org.example.private'), { secret: 3 }),
      await bob.api.get(roomData(alice.userId, ROOM_A, 'org.example.private')),
      await bob.api.put(roomData(alice.userId, ROOM_A, 'org.example.private'), { secret: 4 }),
    ]) {
      assert.equal(res.status, 403);
      assert.equal(res.body.errcode, 'M_FORBIDDEN');
    }
    assert.deepEqual((await alice.api.get(globalData(alice.userId, 'org.example.private'))).body, { secret: 1 });
    assert.deepEqual((await alice.api.get(roomData(alice.userId, ROOM_A, 'org.example.private'))).body, { secret: 2 });
  });

  test('account data needs a token', async () => {
    const alice = await registerUser(server);
    const res = await server.api.get(globalData(alice.userId, 'm.tag'));
    assert.equal(res.status, 401);
    assert.equal(res.body.errcode, 'M_MISSING_TOKEN');
  });

  test('the body must be a JSON object', async () => {
    const alice = await registerUser(server);
    for (const body of ['[1,2]', '"text"', '42', 'null', 'true']) {
      const global = await alice.api.put(globalData(alice.userId, 'org.example.x'), body);
      assert.equal(global.status, 400, body);
      assert.equal(global.body.errcode, 'M_BAD_JSON', body);
      const room = await alice.api.put(roomData(alice.userId, ROOM_A, 'org.example.x'), body);
      assert.equal(room.status, 400, body);
      assert.equal(room.body.errcode, 'M_BAD_JSON', body);
    }
    const notJson = await alice.api.put(globalData(alice.userId, 'org.example.x'), '{"a":');
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.errcode, 'M_NOT_JSON');
    assert.equal((await alice.api.get(globalData(alice.userId, 'org.example.x'))).status, 404);
  });

  test('deeply nested content is refused cleanly, however deep', async () => {
    const alice = await registerUser(server);
    const nested = (depth: number) => `${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}`;
    // The document itself is one level; 99 nested arrays inside make 100, the most a request body may nest.
    assert.equal((await alice.api.put(globalData(alice.userId, 'org.example.deep'), `{"a":${nested(100)}}`)).status, 200);
    for (const depth of [101, 100_000]) {
      const res = await alice.api.put(globalData(alice.userId, 'org.example.deeper'), `{"a":${nested(depth)}}`);
      assert.equal(res.status, 400, String(depth));
      assert.equal(res.body.errcode, 'M_BAD_JSON');
    }
  });

  test('m.fully_read and m.push_rules are set by the server, not through this API', async () => {
    const alice = await registerUser(server);
    for (const type of ['m.fully_read', 'm.push_rules']) {
      const global = await alice.api.put(globalData(alice.userId, type), { event_id: '$x' });
      assert.equal(global.status, 405, type);
      assert.equal(global.body.errcode, 'M_BAD_JSON');
      const room = await alice.api.put(roomData(alice.userId, ROOM_A, type), { event_id: '$x' });
      assert.equal(room.status, 405, type);
      assert.equal(room.body.errcode, 'M_BAD_JSON');
    }
  });

  test('a malformed room id is refused', async () => {
    const alice = await registerUser(server);
    for (const roomId of ['roomA:test.local', '!roomA', '!:test.local', '#alias:test.local', `!${'a'.repeat(300)}:test.local`]) {
      const put = await alice.api.put(roomData(alice.userId, roomId, 'm.tag'), { tags: {} });
      assert.equal(put.status, 400, roomId);
      assert.equal(put.body.errcode, 'M_INVALID_PARAM');
      const get = await alice.api.get(roomData(alice.userId, roomId, 'm.tag'));
      assert.equal(get.status, 400, roomId);
      assert.equal(get.body.errcode, 'M_INVALID_PARAM');
    }
  });

  test('types may be up to 255 characters long', async () => {
    const alice = await registerUser(server);
    const longest = `org.example.${'t'.repeat(255 - 'org.example.'.length)}`;
    assert.equal((await alice.api.put(globalData(alice.userId, longest), { ok: true })).status, 200);
    assert.deepEqual((await alice.api.get(globalData(alice.userId, longest))).body, { ok: true });
    const tooLong = await alice.api.put(globalData(alice.userId, `${longest}x`), { ok: true });
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.body.errcode, 'M_INVALID_PARAM');
    const tooLongGet = await alice.api.get(roomData(alice.userId, ROOM_A, `${longest}x`));
    assert.equal(tooLongGet.status, 400);
    assert.equal(tooLongGet.body.errcode, 'M_INVALID_PARAM');
  });
});
