/**
 * The embedded database's write-ahead log: commits are made durable off the event loop
 * (wal-durability.ts), and checkpoints run on a thread of their own (wal-checkpointer.ts) while the
 * server keeps writing, without letting the log grow without end.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, migrate } from '../src/storage/database.ts';
import { createStorage } from '../src/storage/index.ts';
import { SHARED_DURABILITY_BYTES } from '../src/storage/wal-durability.ts';
import { testEngine } from './support/server.ts';

const skip = testEngine !== 'sqlite' ? 'the write-ahead log is SQLite’s' : false;
const folders: string[] = [];
after(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

async function openTemp(checkpointInBackground: boolean) {
  const folder = await mkdtemp(join(tmpdir(), 'caduceus-wal-'));
  folders.push(folder);
  const path = join(folder, 'caduceus.sqlite');
  const opened = openDatabase({ kind: 'sqlite', path }, { checkpointInBackground });
  await migrate(opened.db);
  await sql`create table scratch (id integer primary key, body text not null)`.execute(opened.db);
  return { opened, path };
}

test('a commit is pending until the log is synced; concurrent waiters all see it through', { skip }, async () => {
  const { opened } = await openTemp(false);
  try {
    await opened.durable();
    assert.equal(opened.commitsPending, false);
    // Autocommitted writes and transactions both count.
    await sql`insert into scratch (body) values ('one')`.execute(opened.db);
    assert.equal(opened.commitsPending, true, 'an autocommitted insert waits for the sync');
    await opened.durable();
    assert.equal(opened.commitsPending, false);

    const writes = Array.from({ length: 40 }, (_, i) =>
      opened.db.transaction().execute(async (trx) => {
        await sql`insert into scratch (body) values (${`row ${i}`})`.execute(trx);
      }),
    );
    await Promise.all(writes);
    assert.equal(opened.commitsPending, true);
    await Promise.all(Array.from({ length: 10 }, () => opened.durable()));
    assert.equal(opened.commitsPending, false);

    // Reads alone leave nothing to sync.
    await sql`select count(*) as n from scratch`.execute(opened.db);
    assert.equal(opened.commitsPending, false, 'a read is not a commit');
  } finally {
    await opened.close();
  }
});

test('with worker threads, one connection’s commit is pending for the other until synced, and either one’s sync covers it', { skip }, async () => {
  const { opened: first, path } = await openTemp(false);
  // Two connections to one file sharing their counts, as two threads of one server do.
  const shared = new SharedArrayBuffer(SHARED_DURABILITY_BYTES);
  await first.close();
  const a = openDatabase({ kind: 'sqlite', path }, { threadDurability: shared });
  const b = openDatabase({ kind: 'sqlite', path }, { threadDurability: shared });
  try {
    assert.equal(b.commitsPending, false);
    await sql`insert into scratch (body) values ('through a')`.execute(a.db);
    assert.equal(b.commitsPending, true, 'the other connection must not answer with it before it is on disk');
    await b.durable();
    assert.equal(a.commitsPending, false, 'the other connection’s sync covered it: one file');
  } finally {
    await a.close();
    await b.close();
  }
});

test('with worker threads, a transaction waits for another thread’s write without stopping the event loop', { skip }, async () => {
  const { opened: first, path } = await openTemp(false);
  await first.close();
  const lockCell = new SharedArrayBuffer(4);
  const storage = createStorage(openDatabase({ kind: 'sqlite', path }, { threadWriteLock: lockCell }));
  try {
    // Another thread of the server (its mark: 99) is writing.
    const cell = new Int32Array(lockCell, 0, 1);
    Atomics.store(cell, 0, 99);
    let began = false;
    const writing = storage.transaction(async (stores) => {
      began = true;
      await stores.settings.set('probe', 'written');
    });
    // The event loop runs on meanwhile: timers fire, and the transaction has not begun.
    const loopTurns = await new Promise<number>((resolve) => {
      let turns = 0;
      const tick = () => (++turns === 10 ? resolve(turns) : setTimeout(tick, 5));
      setTimeout(tick, 5);
    });
    assert.equal(loopTurns, 10);
    assert.equal(began, false, 'the transaction waits for its turn');
    Atomics.store(cell, 0, 0);
    Atomics.notify(cell, 0);
    await writing;
    assert.equal(began, true);
    assert.equal((await storage.settings.withPrefix('probe')).get('probe'), 'written');
    assert.equal(Atomics.load(cell, 0), 0, 'the lock is let go after the commit');
  } finally {
    await storage.close();
  }
});

test('background checkpoints keep the log from growing while writes go on', { skip, timeout: 90_000 }, async () => {
  const { opened, path } = await openTemp(true);
  try {
    const body = 'x'.repeat(2000);
    let commits = 0;
    const commit = async () => {
      await opened.db.transaction().execute(async (trx) => {
        await sql`insert into scratch (body) values (${body})`.execute(trx);
      });
      commits++;
      await new Promise((resolve) => setTimeout(resolve, 1));
    };
    // The checkpoint thread takes a moment to start, longer on a busy machine (the server starts it
    // long before its first requests): write until it has copied rows into the database file.
    const emptyDatabase = (await stat(path)).size;
    const warmUpUntil = Date.now() + 45_000;
    while ((await stat(path)).size < emptyDatabase + 64 * 1024 && Date.now() < warmUpUntil) await commit();
    assert.ok((await stat(path)).size >= emptyDatabase + 64 * 1024, `no checkpoint copied the log after ${commits} commits`);

    // Then 1,500 commits of about 2 KiB, a commit every millisecond or so: several checkpoint rounds.
    const logBefore = (await stat(`${path}-wal`)).size;
    const counted = commits;
    for (let i = 0; i < 1500; i++) await commit();
    await opened.durable();
    // Each commit adds at least two pages (the row's, and the table's) to the log. Without checkpoints
    // the log file would grow by all of them; with them it starts over several times a second and
    // the file (which SQLite reuses from its start, never shrinks) hardly grows.
    const appended = (commits - counted) * 2 * 4096;
    const grown = (await stat(`${path}-wal`)).size - logBefore;
    assert.ok(grown < appended / 2, `the log grew by ${(grown / 1024 / 1024).toFixed(1)} MiB over ${commits - counted} commits (${(appended / 1024 / 1024).toFixed(1)} MiB appended)`);
    assert.ok((await stat(path)).size > commits * 1000, 'the rows reached the database file');
    const rows = await sql<{ n: number }>`select count(*) as n from scratch`.execute(opened.db);
    assert.equal(rows.rows[0]!.n, commits);
  } finally {
    await opened.close();
  }
});
