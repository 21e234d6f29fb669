import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MatrixError } from '@caduceus/core';
import { enc } from './support/api.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { registerUser } from './support/users.ts';

const filters = (userId: string) => `/_matrix/client/v3/user/${enc(userId)}/filter`;
const filter = (userId: string, filterId: string) => `${filters(userId)}/${enc(filterId)}`;

/** The example of the spec's filter.yaml. */
const SPEC_EXAMPLE = {
  room: {
    state: { types: ['m.room.*'], not_rooms: ['!726s6s6q:example.com'] },
    timeline: { limit: 10, types: ['m.room.message'], not_rooms: ['!726s6s6q:example.com'], not_senders: ['@spam:example.com'] },
    ephemeral: { types: ['m.receipt', 'm.typing'], not_rooms: ['!726s6s6q:example.com'], not_senders: ['@spam:example.com'] },
  },
  presence: { types: ['m.presence'], not_senders: ['@alice:example.com'] },
  event_format: 'client',
  event_fields: ['type', 'content', 'sender'],
};

/** Every field the spec defines, set. */
const EVERY_FIELD = {
  event_fields: ['content.body'],
  event_format: 'federation',
  presence: { limit: 1, types: ['m.presence'], not_types: [], senders: ['@a:example.com'], not_senders: [] },
  account_data: { limit: 5, types: ['m.*'] },
  room: {
    rooms: ['!a:example.com'],
    not_rooms: ['!b:example.com'],
    include_leave: true,
    ephemeral: { types: ['m.typing'], rooms: ['!a:example.com'] },
    state: { lazy_load_members: true, include_redundant_members: false },
    timeline: { limit: 50, contains_url: true, unread_thread_notifications: true, lazy_load_members: true },
    account_data: { not_types: ['m.tag'], not_rooms: [] },
  },
};

/** Filters of the wrong shape, each with one mistake. */
const BAD_FILTERS: Record<string, unknown> = {
  'limit as a string': { room: { timeline: { limit: '10' } } },
  'negative limit': { presence: { limit: -1 } },
  'fractional limit': { account_data: { limit: 1.5 } },
  'unknown event_format': { event_format: 'xml' },
  'event_fields not a list': { event_fields: 'type' },
  'a room id that is a number': { room: { rooms: [1] } },
  'null instead of a list': { room: { not_rooms: null } },
  'include_leave as a string': { room: { include_leave: 'true' } },
  'lazy_load_members as a number': { room: { state: { lazy_load_members: 1 } } },
  'contains_url as a string': { room: { timeline: { contains_url: 'yes' } } },
  'unread_thread_notifications as null': { room: { timeline: { unread_thread_notifications: null } } },
  'room as a list': { room: [] },
  'presence as a string': { presence: 'none' },
  'types list too long': { room: { timeline: { types: Array.from({ length: 1001 }, (_, i) => `m.t${i}`) } } },
  'an event type too long': { room: { timeline: { types: ['x'.repeat(256)] } } },
  'a non-integer number in an extra field': { 'org.example.weight': 0.5 },
};

describe('filters', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('a user uploads a filter, gets a short id, and downloads the same filter', async () => {
    const alice = await registerUser(server);
    const res = await alice.api.post(filters(alice.userId), SPEC_EXAMPLE);
    assert.equal(res.status, 200);
    assert.match(res.body.filter_id, /^[A-Za-z0-9]{1,16}$/);
    const got = await alice.api.get(filter(alice.userId, res.body.filter_id));
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, SPEC_EXAMPLE);
  });

  test('every field of the spec is accepted, and the empty filter too', async () => {
    const alice = await registerUser(server);
    for (const body of [EVERY_FIELD, {}]) {
      const res = await alice.api.post(filters(alice.userId), body);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual((await alice.api.get(filter(alice.userId, res.body.filter_id))).body, body);
    }
  });

  test("matrix-js-sdk's default filter is accepted", async () => {
    const alice = await registerUser(server);
    const res = await alice.api.post(filters(alice.userId), { room: { timeline: { unread_thread_notifications: true, lazy_load_members: true } } });
    assert.equal(res.status, 200);
  });

  test('fields the spec does not define are allowed and kept', async () => {
    const alice = await registerUser(server);
    const body = {
      'org.matrix.msc4429.profile_fields': { ids: ['m.tz'] },
      room: {
        timeline: { limit: 20, related_by_rel_types: ['m.thread'], 'io.element.relation_senders': ['@a:example.com'] },
        'org.example.nested': { deep: [1, { x: true }] },
      },
    };
    const res = await alice.api.post(filters(alice.userId), body);
    assert.equal(res.status, 200);
    assert.deepEqual((await alice.api.get(filter(alice.userId, res.body.filter_id))).body, body);
  });

  test('the same filter from the same user gets the same id, whatever the key order', async () => {
    const alice = await registerUser(server);
    const first = await alice.api.post(filters(alice.userId), { room: { timeline: { limit: 10, types: ['m.room.message'] } }, event_format: 'client' });
    const again = await alice.api.post(filters(alice.userId), '{"event_format":"client","room":{"timeline":{"types":["m.room.message"],"limit":10}}}');
    assert.equal(again.status, 200);
    assert.equal(again.body.filter_id, first.body.filter_id);
    const other = await alice.api.post(filters(alice.userId), { room: { timeline: { limit: 11, types: ['m.room.message'] } }, event_format: 'client' });
    assert.notEqual(other.body.filter_id, first.body.filter_id);
  });

  test("users never see each other's filters", async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const mine = await alice.api.post(filters(alice.userId), SPEC_EXAMPLE);
    const upload = await bob.api.post(filters(alice.userId), SPEC_EXAMPLE);
    assert.equal(upload.status, 403);
    assert.equal(upload.body.errcode, 'M_FORBIDDEN');
    const download = await bob.api.get(filter(alice.userId, mine.body.filter_id));
    assert.equal(download.status, 403);
    assert.equal(download.body.errcode, 'M_FORBIDDEN');
    // Bob's own copy of the same filter is his, and Alice's id means nothing under his name.
    const bobs = await bob.api.post(filters(bob.userId), SPEC_EXAMPLE);
    assert.equal(bobs.status, 200);
    if (bobs.body.filter_id !== mine.body.filter_id) {
      assert.equal((await bob.api.get(filter(bob.userId, mine.body.filter_id))).status, 404);
    }
  });

  test('an unknown filter id is not found', async () => {
    const alice = await registerUser(server);
    for (const filterId of ['nope', '0', '{"room":{}}']) {
      const res = await alice.api.get(filter(alice.userId, filterId));
      assert.equal(res.status, 404, filterId);
      assert.equal(res.body.errcode, 'M_NOT_FOUND');
    }
  });

  test('filters need a token', async () => {
    const alice = await registerUser(server);
    const upload = await server.api.post(filters(alice.userId), {});
    assert.equal(upload.status, 401);
    assert.equal(upload.body.errcode, 'M_MISSING_TOKEN');
    const download = await server.api.get(filter(alice.userId, 'abc'));
    assert.equal(download.status, 401);
    assert.equal(download.body.errcode, 'M_MISSING_TOKEN');
  });

  test('filters of the wrong shape are refused with M_BAD_JSON, not coerced', async () => {
    const alice = await registerUser(server);
    for (const [why, body] of Object.entries(BAD_FILTERS)) {
      const res = await alice.api.post(filters(alice.userId), body);
      assert.equal(res.status, 400, why);
      assert.equal(res.body.errcode, 'M_BAD_JSON', why);
    }
    for (const body of ['[]', '"filter"', '7', 'null']) {
      const res = await alice.api.post(filters(alice.userId), body);
      assert.equal(res.status, 400, body);
      assert.equal(res.body.errcode, 'M_BAD_JSON', body);
    }
    const notJson = await alice.api.post(filters(alice.userId), '{"room":');
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.errcode, 'M_NOT_JSON');
  });

  describe('resolving the filter parameter of /sync', () => {
    test('a filter id resolves to the uploaded filter', async () => {
      const alice = await registerUser(server);
      const res = await alice.api.post(filters(alice.userId), SPEC_EXAMPLE);
      assert.deepEqual(await server.services.filters.resolve(alice.userId, res.body.filter_id), SPEC_EXAMPLE);
    });

    test('an inline JSON filter is parsed and validated', async () => {
      const alice = await registerUser(server);
      const inline = { room: { timeline: { limit: 8, unread_thread_notifications: true }, 'org.example.extra': 1 } };
      assert.deepEqual(await server.services.filters.resolve(alice.userId, JSON.stringify(inline)), inline);
      assert.deepEqual(await server.services.filters.resolve(alice.userId, '{}'), {});
    });

    test('an unknown id, or the id of another user, is not found', async () => {
      const alice = await registerUser(server);
      const bob = await registerUser(server);
      const bobs = await bob.api.post(filters(bob.userId), { room: { timeline: { limit: 3 } }, 'org.example.owner': bob.localpart });
      await assert.rejects(server.services.filters.resolve(alice.userId, 'missing'), isMatrixError('M_NOT_FOUND', 404));
      await assert.rejects(server.services.filters.resolve(alice.userId, bobs.body.filter_id), isMatrixError('M_NOT_FOUND', 404));
    });

    test('inline JSON that does not parse is M_NOT_JSON, and a wrong shape is M_BAD_JSON', async () => {
      const alice = await registerUser(server);
      await assert.rejects(server.services.filters.resolve(alice.userId, '{"room":'), isMatrixError('M_NOT_JSON', 400));
      await assert.rejects(server.services.filters.resolve(alice.userId, '{"room":{"timeline":{"limit":"5"}}}'), isMatrixError('M_BAD_JSON', 400));
      await assert.rejects(server.services.filters.resolve(alice.userId, '{"event_format":"xml"}'), isMatrixError('M_BAD_JSON', 400));
    });
  });
});

function isMatrixError(errcode: string, status: number) {
  return (error: unknown) => error instanceof MatrixError && error.errcode === errcode && error.status === status;
}
