/**
 * The scale-out checks, for any two servers (processes or threads) sharing one database: a /sync
 * long-poll held by one must wake promptly for a write committed through the other, not at its
 * timeout; a logout through one is refused by the other at once; a client alternating between them
 * gets every message once, in order. multi-process.test.ts runs them on two processes (PostgreSQL),
 * worker-threads.test.ts on two threads of one server (both engines).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { enc, type Api, type ApiResponse } from './api.ts';
import type { TestServer } from './server.ts';
import { login, registerUser, type TestUser } from './users.ts';

/** What the long-polls ask for; far longer than any wake-up may take. */
const LONG_POLL_MS = 10_000;
/** The longest a long-poll on one server may take to return after a write through the other. */
const PROMPT_MS = 1_000;
/** Rounds per direction. */
const ROUNDS = 3;

/** One of the two servers: a client without a token for it. */
export interface ServerHandle {
  api: Api;
}

export interface ServerPair {
  a: ServerHandle;
  b: ServerHandle;
  stop(): Promise<void>;
}

/** Declares the suite; `start` brings up the pair (once, before its tests), `skip` skips it with a reason. */
export function scaleOutSuite(name: string, skip: string | false, start: () => Promise<ServerPair>): void {
  describe(name, () => {
    let pair: ServerPair;
    let a: ServerHandle;
    let b: ServerHandle;
    let alice: TestUser;
    let bob: TestUser;
    let roomId: string;
    /** `user`'s requests sent to `server` (tokens are shared: sessions live in the database). */
    const on = (server: ServerHandle, user: TestUser) => server.api.withToken(user.accessToken);

    before(async () => {
      if (skip) return;
      pair = await start();
      ({ a, b } = pair);
      alice = await registerUser({ api: a.api } as TestServer);
      bob = await registerUser({ api: b.api } as TestServer);

      const created = await on(a, alice).post('/_matrix/client/v3/createRoom', { name: 'across processes', invite: [bob.userId] });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      roomId = created.body.room_id;
      const joined = await on(b, bob).post(`/_matrix/client/v3/rooms/${enc(roomId)}/join`, {});
      assert.equal(joined.status, 200, JSON.stringify(joined.body));
    });

    after(async () => {
      await pair?.stop();
    });

    /** The current sync position of `api`'s user (a quick sync that returns at once). */
    async function position(api: Api): Promise<string> {
      const res = await api.get('/_matrix/client/v3/sync?timeout=0');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.next_batch;
    }

    /**
     * Parks a long-poll on `poller` and, once it is waiting, does `write` through the other process.
     * Returns the long-poll's answer and how long after the write was acknowledged it came.
     */
    async function wakeAcross(poller: Api, write: () => Promise<void>) {
      let since = await position(poller);
      for (let attempt = 1; ; attempt++) {
        let answeredAt = 0;
        const polled = poller.get(`/_matrix/client/v3/sync?since=${enc(since)}&timeout=${LONG_POLL_MS}`).then((res) => {
          answeredAt = performance.now();
          return res;
        });
        // Nothing to await that says "the long-poll is parked": give it a moment, then check it still waits.
        await new Promise((resolve) => setTimeout(resolve, 300));
        if (answeredAt !== 0) {
          // Something older was still on its way to this process (a write acknowledged by the other
          // one moments ago): take it, as a client would, and park again.
          const early = await polled;
          assert.equal(early.status, 200, JSON.stringify(early.body));
          assert.ok(attempt < 5, `the long-poll keeps returning before anything is written: ${JSON.stringify(early.body)}`);
          since = early.body.next_batch;
          continue;
        }
        const writeStarted = performance.now();
        await write();
        const acknowledged = performance.now();
        const res = await polled;
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return { body: res.body, afterAck: answeredAt - acknowledged, afterStart: answeredAt - writeStarted };
      }
    }

    function assertPrompt(t: TestContext, what: string, timing: { afterAck: number; afterStart: number }) {
      t.diagnostic(`${what}: long-poll returned ${timing.afterStart.toFixed(1)} ms after the write began (${timing.afterAck.toFixed(1)} ms after its 200)`);
      assert.ok(timing.afterStart < PROMPT_MS, `${what}: the long-poll took ${timing.afterStart.toFixed(0)} ms (must be < ${PROMPT_MS} ms, far below its ${LONG_POLL_MS} ms timeout)`);
    }

    const timelineIds = (body: any): string[] => (body.rooms?.join?.[roomId]?.timeline?.events ?? []).map((e: { event_id: string }) => e.event_id);

    async function sendVia(server: ServerHandle, user: TestUser, text: string): Promise<string> {
      const res = await on(server, user).put(`/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${enc(`${text}-${Date.now()}`)}`, { msgtype: 'm.text', body: text });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.event_id;
    }

    // Both directions: a message sent through one server wakes the long-poll held by the other.
    const directions = [
      { name: 'a message sent through B wakes a long-poll on A at once', label: 'B → A', poller: () => on(a, alice), via: () => b, sender: () => bob },
      { name: 'and the other way round: a message sent through A wakes a long-poll on B', label: 'A → B', poller: () => on(b, bob), via: () => a, sender: () => alice },
    ];
    for (const direction of directions) {
      test(direction.name, { skip }, async (t) => {
        for (let round = 1; round <= ROUNDS; round++) {
          let eventId = '';
          const timing = await wakeAcross(direction.poller(), async () => {
            eventId = await sendVia(direction.via(), direction.sender(), `${direction.label}, round ${round}`);
          });
          assert.ok(timelineIds(timing.body).includes(eventId), `the long-poll answered with the message: ${JSON.stringify(timing.body.rooms)}`);
          assertPrompt(t, `${direction.label}, round ${round}`, timing);
        }
      });
    }

    test('account data written through B wakes the same user’s long-poll on A', { skip }, async (t) => {
      for (let round = 1; round <= ROUNDS; round++) {
        const content = { round, theme: 'high-contrast' };
        const timing = await wakeAcross(on(a, alice), async () => {
          const res = await on(b, alice).put(`/_matrix/client/v3/user/${enc(alice.userId)}/account_data/org.example.settings`, content);
          assert.equal(res.status, 200, JSON.stringify(res.body));
        });
        const events: Array<{ type: string; content: unknown }> = timing.body.account_data?.events ?? [];
        assert.deepEqual(
          events.find((e) => e.type === 'org.example.settings')?.content,
          content,
          `A's long-poll answered with the account data: ${JSON.stringify(timing.body.account_data)}`,
        );
        assertPrompt(t, `account data B → A, round ${round}`, timing);
      }
    });

    test('typing through B wakes a long-poll on A', { skip }, async (t) => {
      const timing = await wakeAcross(on(a, alice), async () => {
        const res = await on(b, bob).put(`/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(bob.userId)}`, { typing: true, timeout: 30_000 });
        assert.equal(res.status, 200, JSON.stringify(res.body));
      });
      const typing = (timing.body.rooms?.join?.[roomId]?.ephemeral?.events ?? []).find((e: { type: string }) => e.type === 'm.typing');
      assert.deepEqual(typing?.content, { user_ids: [bob.userId] }, JSON.stringify(timing.body.rooms));
      assertPrompt(t, 'typing B → A', timing);
    });

    test('a logout through A is refused by B at once, though B knew the token, and ends the long-poll B holds for it', { skip }, async () => {
      const session = await login({ api: a.api } as TestServer, alice);
      const whoamiOnB = () => b.api.withToken(session.access_token).get('/_matrix/client/v3/account/whoami');
      // B has seen the token (and may keep it in memory) before the logout.
      for (let i = 0; i < 2; i++) assert.equal((await whoamiOnB()).status, 200);
      const since = await position(b.api.withToken(session.access_token));
      const held = b.api.withToken(session.access_token).get(`/_matrix/client/v3/sync?since=${enc(since)}&timeout=${LONG_POLL_MS}`);
      await new Promise((resolve) => setTimeout(resolve, 300));

      const started = performance.now();
      const logout = await a.api.withToken(session.access_token).post('/_matrix/client/v3/logout', {});
      assert.equal(logout.status, 200, JSON.stringify(logout.body));
      const refused = await whoamiOnB();
      assert.equal(refused.status, 401, `B still accepted the token right after the logout through A: ${JSON.stringify(refused.body)}`);
      assert.equal(refused.body.errcode, 'M_UNKNOWN_TOKEN');

      const ended = await held;
      assert.equal(ended.status, 401, `the long-poll on B answered ${JSON.stringify(ended.body)}`);
      assert.equal(ended.body.errcode, 'M_UNKNOWN_TOKEN');
      assert.ok(performance.now() - started < PROMPT_MS, 'the long-poll on B ended promptly, not at its timeout');
      // Alice's other session is untouched on both.
      assert.equal((await on(b, alice).get('/_matrix/client/v3/account/whoami')).status, 200);
    });

    test('signing in again through A with the same device id makes B refuse the device’s earlier token at once', { skip }, async () => {
      const first = await login({ api: a.api } as TestServer, alice);
      const whoamiOnB = (token: string) => b.api.withToken(token).get('/_matrix/client/v3/account/whoami');
      assert.equal((await whoamiOnB(first.access_token)).status, 200);
      const again = await login({ api: a.api } as TestServer, alice, { device_id: first.device_id });
      assert.equal(again.device_id, first.device_id);
      const refused = await whoamiOnB(first.access_token);
      assert.equal(refused.status, 401, `B still accepted the replaced token: ${JSON.stringify(refused.body)}`);
      assert.equal((await whoamiOnB(again.access_token)).status, 200);
    });

    test('a client whose requests alternate between the processes gets every message exactly once, in order', { skip }, async (t) => {
      // As behind a load balancer without sticky sessions: each /sync goes to the other process, with
      // the token the previous one gave, while messages are sent through both.
      const pollers = [on(a, alice), on(b, alice)] as const;
      let since = await position(pollers[0]);
      const received: string[] = [];
      const sent: Array<{ eventId: string; body: string; via: 'A' | 'B' }> = [];
      let sendingDone = 0;
      const sender = (async () => {
        for (let i = 0; i < 30; i++) {
          const via = i % 2 === 0 ? 'A' : 'B';
          const body = `alternating ${i}`;
          sent.push({ eventId: await sendVia(via === 'A' ? a : b, bob, body), body, via });
        }
        sendingDone = performance.now();
      })();
      /** Every sync that brought something, and the last few, for the failure message. */
      const trace: string[] = [];
      let syncs = 0;
      while (sendingDone === 0 || received.length < sent.length) {
        if (sendingDone !== 0 && performance.now() - sendingDone > 5_000) {
          const missing = sent.filter((s) => !received.includes(s.eventId)).map((s) => `${s.body} (${s.eventId}, sent via ${s.via})`);
          assert.fail(`5 s after the last send, ${missing.length} message(s) never came: ${missing.join('; ')}\nsyncs (process since → next_batch: bodies):\n  ${trace.join('\n  ')}`);
        }
        const via = ++syncs % 2 === 1 ? 'A' : 'B';
        const res: ApiResponse = await pollers[via === 'A' ? 0 : 1].get(`/_matrix/client/v3/sync?since=${enc(since)}&timeout=1000`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const timeline = res.body.rooms?.join?.[roomId]?.timeline;
        assert.notEqual(timeline?.limited, true, 'no gap: every sync brought less than a timeline’s worth');
        const messages: Array<{ event_id: string; content: { body?: string } }> = (timeline?.events ?? []).filter((e: { type: string }) => e.type === 'm.room.message');
        received.push(...messages.map((e) => e.event_id));
        const line = `${via} ${since} → ${res.body.next_batch}: ${messages.map((e) => e.content.body).join(', ')}`;
        if (messages.length > 0 || trace.length < 3) trace.push(line);
        since = res.body.next_batch;
      }
      await sender;
      t.diagnostic(`${sent.length} messages received over ${syncs} syncs alternating between the processes`);
      assert.deepEqual(
        received,
        sent.map((s) => s.eventId),
        `each message once, in the order sent; syncs:\n  ${trace.join('\n  ')}`,
      );
    });
  });
}
