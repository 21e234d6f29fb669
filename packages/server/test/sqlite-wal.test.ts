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

test('background checkpoints keep the log from growing while writes go on', { skip, timeout: 60_000 }, async () => {
  const { opened, path } = await openTemp(true);
  try {
    // The checkpoint thread takes a moment to start on a busy machine; the server starts it long
    // before its first requests.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // A commit every millisecond or so for four seconds, each about 2 KiB: thousands of commits.
    const body = 'x'.repeat(2000);
    const until = Date.now() + 4000;
    let commits = 0;
    while (Date.now() < until) {
      await opened.db.transaction().execute(async (trx) => {
        await sql`insert into scratch (body) values (${body})`.execute(trx);
      });
      commits++;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await opened.durable();
    const wal = (await stat(`${path}-wal`)).size;
    const database = (await stat(path)).size;
    // Each commit adds at least two pages (the row's, and the table's) to the log: without
    // checkpoints the log would keep them all; with them it starts over several times a second (on
    // a busy machine less often, hence the margin).
    const appended = commits * 2 * 4096;
    assert.ok(commits > 500, `only ${commits} commits`);
    assert.ok(wal < appended / 2, `the log grew to ${(wal / 1024 / 1024).toFixed(1)} MiB over ${commits} commits (${(appended / 1024 / 1024).toFixed(1)} MiB appended)`);
    assert.ok(database > commits * 2000, 'the rows reached the database file');
    const rows = await sql<{ n: number }>`select count(*) as n from scratch`.execute(opened.db);
    assert.equal(rows.rows[0]!.n, commits);
  } finally {
    await opened.close();
  }
});
