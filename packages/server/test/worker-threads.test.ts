/**
 * One server with two worker threads (`workers: 2`): each thread serves HTTP with its own database
 * connection; on SQLite they tell each other of commits over a BroadcastChannel and take turns at
 * the write lock, on PostgreSQL through LISTEN/NOTIFY. The scale-out checks of support/scale-out.ts
 * run with each thread on a port of its own (so a test can pick the thread); the rest on the one
 * shared port, as deployed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from 'undici';
import { Api, enc } from './support/api.ts';
import { scaleOutSuite } from './support/scale-out.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { registerUser, type TestUser } from './support/users.ts';

scaleOutSuite('two worker threads of one server', false, async () => {
  const server = await startTestServer({ workers: 2 }, { threadPorts: 'separate' });
  assert.equal(server.threadUrls.length, 2);
  assert.notEqual(server.threadUrls[0], server.threadUrls[1]);
  return { a: { api: new Api(server.threadUrls[0]!) }, b: { api: new Api(server.threadUrls[1]!) }, stop: () => server.close() };
});

describe('two worker threads on one port', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  /** Requests the first thread answered (the others were answered by the worker thread). */
  let answeredHere = 0;

  before(async () => {
    server = await startTestServer({ workers: 2 });
    server.app.server.on('request', () => answeredHere++);
    alice = await registerUser(server);
    bob = await registerUser(server);
    const created = await server.api.withToken(alice.accessToken).post('/_matrix/client/v3/createRoom', { invite: [bob.userId] });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    roomId = created.body.room_id;
    assert.equal((await server.api.withToken(bob.accessToken).post(`/_matrix/client/v3/rooms/${enc(roomId)}/join`, {})).status, 200);
  });

  after(async () => {
    await server?.close();
  });

  /** A request on a connection of its own (so the kernel picks a thread for it afresh). */
  async function onFreshConnection(method: string, path: string, token: string, body?: unknown) {
    const client = new Client(server.url);
    try {
      const res = await client.request({
        method: method as 'GET',
        path,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.statusCode, body: (await res.body.json()) as any };
    } finally {
      await client.close();
    }
  }

  test('both threads answer, and a long-poll wakes at once whichever thread took the message', async (t) => {
    const ROUNDS = 16;
    answeredHere = 0;
    let requests = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const first = await onFreshConnection('GET', '/_matrix/client/v3/sync?timeout=0', bob.accessToken);
      requests++;
      assert.equal(first.status, 200);
      const polled = onFreshConnection('GET', `/_matrix/client/v3/sync?since=${enc(first.body.next_batch)}&timeout=10000`, bob.accessToken);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const started = performance.now();
      const sent = await onFreshConnection('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/shared-${round}`, alice.accessToken, { msgtype: 'm.text', body: `round ${round}` });
      assert.equal(sent.status, 200, JSON.stringify(sent.body));
      const answer = await polled;
      requests += 2;
      const took = performance.now() - started;
      const ids = (answer.body.rooms?.join?.[roomId]?.timeline?.events ?? []).map((e: { event_id: string }) => e.event_id);
      assert.ok(ids.includes(sent.body.event_id), `round ${round}: the long-poll brought the message: ${JSON.stringify(answer.body.rooms)}`);
      assert.ok(took < 1_000, `round ${round}: the long-poll returned ${took.toFixed(0)} ms after the send began (must be < 1000 ms)`);
    }
    t.diagnostic(`the first thread answered ${answeredHere} of ${requests} requests`);
    assert.ok(answeredHere > 0 && answeredHere < requests, `both threads answer on the shared port (first thread: ${answeredHere} of ${requests})`);
  });

  test('concurrent sends through both threads all commit, each once, in one order everyone sees', async () => {
    const sends = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        onFreshConnection('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/burst-${i}`, i % 2 === 0 ? alice.accessToken : bob.accessToken, { msgtype: 'm.text', body: `burst ${i}` }),
      ),
    );
    for (const sent of sends) assert.equal(sent.status, 200, JSON.stringify(sent.body));
    const sentIds = new Set(sends.map((s) => s.body.event_id as string));
    assert.equal(sentIds.size, 60);
    const history = await server.api.withToken(alice.accessToken).get(`/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=100`);
    assert.equal(history.status, 200);
    const burst = (history.body.chunk as Array<{ event_id: string; content: { body?: string } }>).filter((e) => e.content.body?.startsWith('burst '));
    assert.deepEqual(new Set(burst.map((e) => e.event_id)), sentIds, 'every acknowledged send is in the history, once');
  });
});
