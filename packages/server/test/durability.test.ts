/**
 * "A 200 on send means committed." A real server process takes a burst of concurrent and serial
 * sends, then is killed with SIGKILL (no shutdown, no flush) while more sends are in flight. After a
 * restart on the same data folder (SQLite leg) or database (PostgreSQL leg), every event the server
 * had acknowledged must be there — in /sync and in /messages — and retrying a send with the same
 * transaction id must give back the same event instead of a duplicate.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import type { Api } from './support/api.ts';
import { enc } from './support/api.ts';
import { startChildServer, stopChildServers, type ChildServer } from './support/child-server.ts';
import { createTestDatabase, testDatabaseUrl, testEngine, type TestServer } from './support/server.ts';
import { registerUser } from './support/users.ts';

const CONCURRENT = 200;
const SERIAL = 30;
/** Parallel senders during the kill, and how many of their sends are acknowledged before it comes. */
const KILL_WORKERS = 8;
const ACKS_BEFORE_KILL = 60;

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  await stopChildServers();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

type Outcome = { status: 'acked'; eventId: string } | { status: 'refused'; detail: string } | { status: 'unknown'; detail: string };

/** PUT /send with a txnId and a body naming it; classifies what the client learnt. */
async function send(api: Api, roomId: string, txnId: string): Promise<Outcome> {
  try {
    const res = await api.put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${enc(txnId)}`, { msgtype: 'm.text', body: `txn ${txnId}` });
    if (res.status === 200 && typeof res.body?.event_id === 'string') return { status: 'acked', eventId: res.body.event_id };
    return { status: 'refused', detail: `${res.status} ${JSON.stringify(res.body)}` };
  } catch (error) {
    // The connection died (the server was killed): the client cannot know whether it committed.
    return { status: 'unknown', detail: String((error as Error).cause ?? error) };
  }
}

/** Every m.room.message of the room as /sync shows it (one initial sync, timeline limit 1000): body → event ids. */
async function messagesViaSync(api: Api, roomId: string): Promise<Map<string, string[]>> {
  const filter = JSON.stringify({ room: { rooms: [roomId], timeline: { limit: 1000, types: ['m.room.message'] }, state: { types: [] } } });
  const res = await api.get(`/_matrix/client/v3/sync?timeout=0&filter=${enc(filter)}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const timeline = res.body.rooms?.join?.[roomId]?.timeline;
  assert.ok(timeline, `the room is in /sync: ${JSON.stringify(res.body.rooms)}`);
  assert.equal(timeline.limited, false, 'the whole room fits in one /sync');
  return byBody(timeline.events);
}

/** The same, read back page by page through /messages (dir=b). */
async function messagesViaHistory(api: Api, roomId: string): Promise<Map<string, string[]>> {
  const events: Array<{ type: string; event_id: string; content: { body?: string } }> = [];
  let from: string | undefined;
  for (let page = 0; page < 100; page++) {
    const res = await api.get(`/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=100${from ? `&from=${enc(from)}` : ''}`);
    assert.equal(res.status, 200, `GET /messages: ${JSON.stringify(res.body)}`);
    events.push(...res.body.chunk);
    if (!res.body.end || res.body.chunk.length === 0) return byBody(events.filter((e) => e.type === 'm.room.message').reverse());
    from = res.body.end;
  }
  assert.fail('/messages did not reach the start of the room in 100 pages');
}

function byBody(events: Array<{ type?: string; event_id: string; content: { body?: string } }>): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const event of events) {
    const body = event.content.body ?? '';
    map.set(body, [...(map.get(body) ?? []), event.event_id]);
  }
  return map;
}

test(`a 200 on send means committed: acknowledged events survive kill -9 (${testEngine})`, async (t: TestContext) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'caduceus-durability-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const database = testDatabaseUrl ? await createTestDatabase(testDatabaseUrl) : undefined;
  if (database) cleanups.push(database.drop);

  let server: ChildServer = await startChildServer({ dataDir, databaseUrl: database?.url });
  // registerUser only talks to `server.api`.
  const user = await registerUser({ api: server.api } as TestServer);
  const created = await user.api.post('/_matrix/client/v3/createRoom', { name: 'durability' });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const roomId: string = created.body.room_id;
  const sender = server.api.withToken(user.accessToken);

  const acked = new Map<string, string>(); // txnId → event id
  const unknown = new Set<string>(); // txnIds whose outcome the client never learnt

  // 1. A burst of concurrent sends and, beside it, a chain of serial ones: all must be acknowledged.
  const started = Date.now();
  const serial = (async () => {
    for (let i = 0; i < SERIAL; i++) {
      const outcome = await send(sender, roomId, `serial-${i}`);
      assert.equal(outcome.status, 'acked', `serial send ${i}: ${JSON.stringify(outcome)}`);
      if (outcome.status === 'acked') acked.set(`serial-${i}`, outcome.eventId);
    }
  })();
  const burst = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => send(sender, roomId, `burst-${i}`)));
  await serial;
  burst.forEach((outcome, i) => {
    assert.equal(outcome.status, 'acked', `concurrent send ${i}: ${JSON.stringify(outcome)}`);
    if (outcome.status === 'acked') acked.set(`burst-${i}`, outcome.eventId);
  });
  assert.equal(new Set(acked.values()).size, CONCURRENT + SERIAL, 'every send got its own event id');
  t.diagnostic(`${CONCURRENT} concurrent + ${SERIAL} serial sends acknowledged in ${Date.now() - started} ms`);

  // 2. Senders keep going; once enough of them are acknowledged, SIGKILL while others are in flight.
  let stop = false;
  let inFlight = 0;
  let ackedUnderLoad = 0;
  const killed = Promise.withResolvers<number>();
  const workers = Array.from({ length: KILL_WORKERS }, async (_, worker) => {
    for (let n = 0; !stop; n++) {
      const txnId = `load-${worker}-${n}`;
      inFlight++;
      const outcome = await send(sender, roomId, txnId);
      inFlight--;
      if (outcome.status === 'acked') {
        acked.set(txnId, outcome.eventId);
        if (++ackedUnderLoad === ACKS_BEFORE_KILL) {
          stop = true;
          // Kill at once, without waiting for the other workers' requests to finish.
          const pending = inFlight;
          void server.stop('SIGKILL');
          killed.resolve(pending);
        }
      } else if (outcome.status === 'unknown') {
        unknown.add(txnId);
        stop = true;
      } else {
        assert.fail(`send ${txnId} was refused before the kill: ${outcome.detail}`);
      }
    }
  });
  const inFlightAtKill = await killed.promise;
  await Promise.all(workers);
  const exit = await server.exited;
  assert.equal(exit.signal, 'SIGKILL', `the server died of the kill, not otherwise: ${JSON.stringify(exit)}`);
  t.diagnostic(`killed with ${inFlightAtKill} sends in flight; ${unknown.size} sends never got an answer; ${acked.size} acknowledged in all`);
  assert.ok(inFlightAtKill > 0, 'sends were in flight when the server was killed');

  // 3. Restart on the same data folder / database: every acknowledged event is there, exactly once.
  server = await startChildServer({ dataDir, databaseUrl: database?.url });
  const api = server.api.withToken(user.accessToken);
  const seenBefore = await messagesViaSync(api, roomId);
  const committedUnanswered = [...unknown].filter((txnId) => seenBefore.has(`txn ${txnId}`)).length;
  t.diagnostic(`${committedUnanswered} of the ${unknown.size} unanswered sends had committed before the kill`);
  for (const [source, read] of [
    ['/sync', messagesViaSync],
    ['/messages', messagesViaHistory],
  ] as const) {
    const seen = await read(api, roomId);
    const missing = [...acked].filter(([txnId, eventId]) => !(seen.get(`txn ${txnId}`) ?? []).includes(eventId));
    assert.deepEqual(missing, [], `acknowledged sends missing from ${source} after the crash`);
    for (const [body, ids] of seen) assert.equal(ids.length, 1, `${body} appears ${ids.length} times in ${source}`);
  }

  // 4. Retrying with the same transaction id gives back the same event: for every acknowledged send,
  //    and for the ones whose answer was lost (they committed or not; either way exactly once now).
  const retried = await Promise.all([...acked.keys()].map(async (txnId) => [txnId, await send(api, roomId, txnId)] as const));
  for (const [txnId, outcome] of retried) {
    assert.deepEqual(outcome, { status: 'acked', eventId: acked.get(txnId) }, `retry of ${txnId} after the restart`);
  }
  for (const txnId of unknown) {
    const outcome = await send(api, roomId, txnId);
    assert.equal(outcome.status, 'acked', `retry of the unanswered ${txnId}: ${JSON.stringify(outcome)}`);
  }
  const afterRetries = await messagesViaSync(api, roomId);
  for (const txnId of [...acked.keys(), ...unknown]) {
    assert.equal(afterRetries.get(`txn ${txnId}`)?.length, 1, `${txnId} is in the room exactly once after the retries`);
  }

  // 5. The room takes new messages, and they reach /sync.
  const fresh = await send(api, roomId, 'after-restart');
  assert.equal(fresh.status, 'acked', JSON.stringify(fresh));
  const latest = await messagesViaSync(api, roomId);
  assert.deepEqual(latest.get('txn after-restart'), [fresh.status === 'acked' ? fresh.eventId : '']);

  await server.stop();
});
