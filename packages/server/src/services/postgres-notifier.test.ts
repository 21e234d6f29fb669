/**
 * The PostgreSQL notifier's promise to a logout: once `settled` resolves, every other process on the
 * database has handled the ended session (its caches no longer accept the token). Runs on the
 * PostgreSQL leg only (CADUCEUS_TEST_DATABASE_URL), in a database of its own.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { PostgresNotifier } from './postgres-notifier.ts';
import type { StreamChange } from './notifier.ts';

const serverUrl = process.env.CADUCEUS_TEST_DATABASE_URL || undefined;

describe('PostgreSQL notifier: ended sessions are confirmed by every peer', { skip: serverUrl ? false : 'PostgreSQL only' }, () => {
  let url: string;
  let dbName: string;
  const notifiers: PostgresNotifier[] = [];
  let position = 0;

  const change = (marks: StreamChange['marks']): StreamChange => {
    position += 1;
    return { first: position, position, rooms: [], users: [], marks };
  };
  const notify = async (payload: unknown) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('SELECT pg_notify($1, $2)', ['caduceus_stream', JSON.stringify(payload)]);
    await client.end();
  };
  const started = async () => {
    const notifier = new PostgresNotifier(url);
    await notifier.start(0);
    notifiers.push(notifier);
    return notifier;
  };
  /** Greetings go over the database: give them a moment to arrive. */
  const greetingsExchanged = () => new Promise((resolve) => setTimeout(resolve, 300));

  before(async () => {
    dbName = `caduceus_notifier_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    const parsed = new URL(serverUrl!);
    parsed.pathname = `/${dbName}`;
    url = parsed.toString();
  });

  after(async () => {
    for (const notifier of notifiers) await notifier.close();
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  });

  test('a logout is settled only once the other process has dropped the session', async () => {
    const a = await started();
    const b = await started();
    await greetingsExchanged();
    const seenByB: string[] = [];
    b.onMarked('sessions', (userIds) => {
      if (userIds !== 'all') seenByB.push(...userIds);
    });
    a.publish(change({ sessions: ['@alice:test.local'] }));
    const t0 = performance.now();
    await a.settled();
    assert.deepEqual(seenByB, ['@alice:test.local'], 'settled before the other process handled the ended session');
    assert.ok(performance.now() - t0 < 900, 'a peer that confirms does not cost the patience');
  });

  test('a process that never confirms holds one logout back for the patience, and not the next', async () => {
    const a = notifiers[0]!;
    // A peer that greets and then never answers (as one that died would).
    await notify({ hello: 'silent-peer', reply: false });
    await greetingsExchanged();
    a.publish(change({ sessions: ['@bob:test.local'] }));
    let t0 = performance.now();
    await a.settled();
    const waited = performance.now() - t0;
    assert.ok(waited >= 900, `settled after ${waited.toFixed(0)} ms without the silent peer's confirmation`);
    assert.ok(waited < 3_000, `settled only after ${waited.toFixed(0)} ms`);
    // It is taken for gone; the process that does answer is still waited for.
    const seenByB: string[] = [];
    notifiers[1]!.onMarked('sessions', (userIds) => userIds !== 'all' && seenByB.push(...userIds));
    a.publish(change({ sessions: ['@carol:test.local'] }));
    t0 = performance.now();
    await a.settled();
    assert.ok(performance.now() - t0 < 900, 'the next logout waited for the silent peer again');
    assert.deepEqual(seenByB, ['@carol:test.local']);
  });

  test('a process that shuts down says so, and is not waited for', async () => {
    const a = notifiers[0]!;
    const c = await started();
    await greetingsExchanged();
    await c.close();
    notifiers.splice(notifiers.indexOf(c), 1);
    await greetingsExchanged();
    a.publish(change({ sessions: ['@dave:test.local'] }));
    const t0 = performance.now();
    await a.settled();
    assert.ok(performance.now() - t0 < 900, 'a logout waited for a process that had shut down');
  });

  test('other changes are not held back by the peers', async () => {
    const a = notifiers[0]!;
    a.publish(change({ events: ['!room:test.local'] }));
    const t0 = performance.now();
    await a.settled();
    assert.ok(performance.now() - t0 < 900, 'a change without ended sessions waited for confirmations');
  });
});
