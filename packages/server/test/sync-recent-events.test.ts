/**
 * Incremental /sync answers fresh events from an in-memory window of recently committed events
 * (services/sync/recent-events.ts) and falls back to the database for what the window cannot vouch
 * for. What a client sees must not depend on which of the two answered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { roomOfTwo, send, sync } from './support/rooms.ts';
import { startTestServer, type TestServer } from './support/server.ts';

describe('/sync from the window of recent events', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  const bigTimeline = { room: { timeline: { limit: 1000 } } };

  test('a message redacted before the recipient syncs arrives redacted, not with its old content', async () => {
    const { alice, bob, roomId } = await roomOfTwo(server);
    const first = await sync(bob);
    const eventId = await send(alice, roomId, 'wrong patient');
    const redacted = await alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(eventId)}/fix-1`, {});
    assert.equal(redacted.status, 200);
    await send(alice, roomId, 'right patient');
    const events = (await sync(bob, { since: first.next_batch })).rooms.join[roomId].timeline.events;
    const original = events.find((e: any) => e.event_id === eventId);
    assert.deepEqual(original.content, {});
    assert.equal(original.unsigned.redacted_because.event_id, redacted.body.event_id);
    assert.deepEqual(events.filter((e: any) => e.content.body).map((e: any) => e.content.body), ['right patient']);
  });

  test('a busy room: consecutive syncs see every message exactly once and in order, also beyond what the window holds', async () => {
    const { alice, bob, roomId } = await roomOfTwo(server);
    let since = (await sync(bob)).next_batch;
    const seen: string[] = [];
    const expected: string[] = [];
    for (const burst of [3, 150, 1, 70]) {
      const bodies = Array.from({ length: burst }, (_, i) => `reading ${expected.length + i}`);
      // Concurrent sends commit in one or a few batches.
      await Promise.all(bodies.map((body, i) => alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/b${expected.length + i}`, { msgtype: 'm.text', body })));
      expected.push(...bodies);
      const body = await sync(bob, { since, filter: bigTimeline });
      since = body.next_batch;
      seen.push(...body.rooms.join[roomId].timeline.events.map((e: any) => e.content.body));
    }
    assert.deepEqual([...seen].sort(), [...expected].sort(), 'each message once');
    const numbers = seen.map((b) => Number(b.split(' ')[1]));
    assert.equal(new Set(numbers).size, numbers.length);
    // In commit order: the order /messages shows too.
    const history = await bob.api.get(`/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=1000`);
    const historyOrder = history.body.chunk.filter((e: any) => e.type === 'm.room.message').map((e: any) => e.content.body).reverse();
    assert.deepEqual(seen, historyOrder);
  });

  test('the sender sees its transaction ids in a sync answered from memory, another device of theirs does not', async () => {
    const { alice, bob, roomId } = await roomOfTwo(server);
    const first = await sync(alice);
    await send(alice, roomId, 'own one', 'txn-mem-1');
    await send(bob, roomId, 'from bob', 'txn-mem-2');
    // The range is one the window vouches for (so the answer below came from memory).
    const window = server.services.notifier.recent.range(roomId, Number(first.next_batch.slice(1)), await server.storage.stream.current(), Date.now());
    assert.deepEqual(window?.map((e) => e.type), ['m.room.message', 'm.room.message']);
    const events = (await sync(alice, { since: first.next_batch })).rooms.join[roomId].timeline.events;
    assert.equal(events.find((e: any) => e.content.body === 'own one').unsigned.transaction_id, 'txn-mem-1');
    assert.equal(events.find((e: any) => e.content.body === 'from bob').unsigned.transaction_id, undefined);
  });
});
