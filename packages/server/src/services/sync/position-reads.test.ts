/** Shared position reads: a request never gets a read that started before it arrived. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PositionReads } from './position-reads.ts';

/** A database whose reads answer only when told to, with the position of that moment. */
function fakeDatabase() {
  let position = 10;
  const pending: Array<() => void> = [];
  return {
    reads: 0,
    commit() {
      position++;
    },
    read(): Promise<number> {
      this.reads++;
      // The read takes its snapshot when it starts, as a query does.
      const snapshot = position;
      return new Promise((resolve) => pending.push(() => resolve(snapshot)));
    },
    /** Answers the oldest read under way. */
    answer() {
      pending.shift()!();
    },
  };
}

test('requests arriving during a read share the next one, which sees what was committed before they came', async () => {
  const db = fakeDatabase();
  const reads = new PositionReads(() => db.read());
  const first = reads.current();
  assert.equal(db.reads, 1, 'a lone request reads at once');
  // A write is acknowledged, then three requests arrive while the first read is still under way.
  db.commit();
  const later = [reads.current(), reads.current(), reads.current()];
  assert.equal(db.reads, 1, 'they do not join the read that started before them, nor start their own yet');
  db.answer();
  assert.equal(await first, 10);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(db.reads, 2, 'one read for the three, started when the first ended');
  db.answer();
  assert.deepEqual(await Promise.all(later), [11, 11, 11], 'each sees the acknowledged write');
  // Nothing under way: the next request reads on its own again.
  const alone = reads.current();
  assert.equal(db.reads, 3);
  db.answer();
  assert.equal(await alone, 11);
});

test('a failed read does not stop the requests queued behind it', async () => {
  let calls = 0;
  const reads = new PositionReads(() => (++calls === 1 ? Promise.reject(new Error('connection lost')) : Promise.resolve(42)));
  const failing = reads.current();
  const queued = reads.current();
  await assert.rejects(failing, /connection lost/);
  assert.equal(await queued, 42);
});
