/**
 * Concurrent writes share batch transactions (services/stream-writer.ts); on PostgreSQL a batch's
 * messages are inserted together just before its commit, and their rooms' tips are read together
 * when it opens (storage/deferred-events.ts). Whatever the batching, a room's events form one chain
 * and a retried transaction id gives back its event.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enc } from './support/api.ts';
import { roomOfTwo, send } from './support/rooms.ts';
import { startTestServer, testEngine, type TestServer } from './support/server.ts';

interface Pdu {
  event_id: string;
  prev_events: string[];
  depth: number;
}

describe(`write batches (${testEngine})`, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  /** The room's events from the database, oldest first, as stored (prev_events and depth included). */
  async function storedChain(roomId: string): Promise<Array<Pdu & { type: string }>> {
    const rows = await server.storage.events.page(roomId, Number.MAX_SAFE_INTEGER, 'b', 1000);
    return rows.reverse().map((r) => ({ ...(JSON.parse(r.json) as Pdu), type: r.type }));
  }

  test('messages sent at once, also into the same batch, each build on the one before them', async () => {
    const { alice, bob, roomId } = await roomOfTwo(server);
    const sent = await Promise.all(Array.from({ length: 40 }, (_, i) => send(i % 2 ? alice : bob, roomId, `vitals ${i}`)));
    // A state event among them: written at once, with the messages before it in the same batch.
    const topic = alice.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.topic/`, { topic: 'Bed 4' });
    const more = await Promise.all([topic, ...Array.from({ length: 10 }, (_, i) => send(bob, roomId, `later ${i}`))]);
    assert.equal((more[0] as { status: number }).status, 200);

    const chain = await storedChain(roomId);
    for (const id of sent) assert.ok(chain.some((e) => e.event_id === id), `${id} was stored`);
    assert.equal(new Set(chain.map((e) => e.event_id)).size, chain.length, 'no event stored twice');
    for (let i = 1; i < chain.length; i++) {
      assert.deepEqual(chain[i]!.prev_events, [chain[i - 1]!.event_id], `event ${i} (${chain[i]!.type}) builds on the one before it`);
      assert.equal(chain[i]!.depth, chain[i - 1]!.depth + 1);
    }
    // What the clients read is that chain, in that order.
    const page = await alice.api.get(`/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=100`);
    assert.deepEqual(page.body.chunk.map((e: { event_id: string }) => e.event_id).reverse(), chain.slice(-page.body.chunk.length).map((e) => e.event_id));
  });

  test('a refused change among sends in one batch leaves no trace, and the sends around it still form one chain', async () => {
    const { alice, bob, roomId } = await roomOfTwo(server);
    // Bob may not rename the room: his change is refused inside the batch, after its savepoint.
    const rename = bob.api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.name/`, { name: 'Renamed by bob' });
    const sends = Array.from({ length: 12 }, (_, i) => send(i % 2 ? alice : bob, roomId, `obs ${i}`));
    const [refused, ...sent] = await Promise.all([rename, ...sends]);
    assert.equal((refused as { status: number }).status, 403);
    const chain = await storedChain(roomId);
    assert.ok(!chain.some((e) => e.type === 'm.room.name'), 'the refused change was not stored');
    for (const id of sent as string[]) assert.ok(chain.some((e) => e.event_id === id), `${id} was stored`);
    for (let i = 1; i < chain.length; i++) assert.deepEqual(chain[i]!.prev_events, [chain[i - 1]!.event_id], `event ${i} builds on the one before it`);
  });

  test('the same transaction id sent twice at once gives one event, whichever batch each lands in', async () => {
    const { alice, roomId } = await roomOfTwo(server);
    const path = (txnId: string) => `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${enc(txnId)}`;
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => alice.api.put(path(`retry-${i % 4}`), { msgtype: 'm.text', body: `order ${i % 4}` })),
    );
    for (const answer of answers) assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const byTxn = new Map<string, Set<string>>();
    answers.forEach((answer, i) => (byTxn.get(`retry-${i % 4}`) ?? byTxn.set(`retry-${i % 4}`, new Set()).get(`retry-${i % 4}`)!).add(answer.body.event_id));
    for (const [txnId, ids] of byTxn) assert.equal(ids.size, 1, `${txnId} made one event`);
    const chain = await storedChain(roomId);
    const messages = chain.filter((e) => e.type === 'm.room.message');
    assert.equal(messages.length, 4);
  });

  test('content and transaction ids with quotes, backslashes, placeholders and any script come back exactly as sent', async () => {
    // On PostgreSQL a batch's messages reach the database as literals in one multi-statement query.
    const { alice, bob, roomId } = await roomOfTwo(server);
    const tricky = [`O'Brien's BP 120/80`, 'C:\\records\\n\\x00 "quoted"', `'); delete from events; --`, '$1 $2 ? :name', 'Ünïcødé – 患者 – 🩺 – \u{10FFFF}', 'line one\nline two\t\r'];
    const path = (txnId: string) => `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${enc(txnId)}`;
    const answers = await Promise.all(tricky.map((body, i) => (i % 2 ? alice : bob).api.put(path(`tx'\\${i}$1`), { msgtype: 'm.text', body, 'org.example.nested': { body, n: -(i + 1) } })));
    for (const answer of answers) assert.equal(answer.status, 200, JSON.stringify(answer.body));
    // A retry with the same tricky transaction id finds the event it made.
    const retry = await bob.api.put(path(`tx'\\0$1`), { msgtype: 'm.text', body: tricky[0] });
    assert.equal(retry.body.event_id, answers[0]!.body.event_id);

    const page = await alice.api.get(`/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=20`);
    for (const [i, body] of tricky.entries()) {
      const event = page.body.chunk.find((e: { event_id: string }) => e.event_id === answers[i]!.body.event_id);
      assert.ok(event, `message ${i} is in the room`);
      assert.deepEqual(event.content, { msgtype: 'm.text', body, 'org.example.nested': { body, n: -(i + 1) } });
    }
  });
});
