/** The window of recent events when batches arrive out of order (worker threads hear each other's commits late). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NewEventRow } from '../../storage/index.ts';
import { RecentEvents } from './recent-events.ts';

function row(position: number, roomId = '!a:test'): NewEventRow {
  return {
    streamOrdering: position,
    eventId: `$e${position}`,
    roomId,
    type: 'm.room.message',
    stateKey: null,
    sender: '@alice:test',
    originServerTs: 1_000 + position,
    depth: position,
    json: '{}',
    unsigned: '{}',
    relatesTo: null,
    relType: null,
  };
}

const batch = (...positions: number[]) => ({ rows: positions.map((p) => row(p)), txns: [], rewrote: false });

test('a batch heard after a later one takes its place in position order', () => {
  const recent = new RecentEvents();
  recent.start(100);
  // This thread committed 106; another thread's 101–105 (committed first) is heard afterwards.
  recent.addCommitted(106, 106, batch(106));
  recent.addCommitted(101, 105, batch(101, 102, 103, 104, 105));
  assert.deepEqual(recent.range('!a:test', 100, 106, 0)?.map((e) => e.streamOrdering), [101, 102, 103, 104, 105, 106]);
  assert.deepEqual(recent.range('!a:test', 103, 105, 0)?.map((e) => e.streamOrdering), [104, 105]);
});

test("another process's change heard after a later one of ours does not drop ours from the window", () => {
  const recent = new RecentEvents();
  recent.start(100);
  // We committed 105 in the room; another process's 101–103 in it (committed first) is heard afterwards.
  recent.addCommitted(105, 105, batch(105));
  recent.observe({ first: 101, position: 103, rooms: ['!a:test'], users: [], marks: { events: ['!a:test'] } });
  // Nothing before 103 can be vouched for; from 103 on, our 105 is there.
  assert.equal(recent.range('!a:test', 100, 105, 0), undefined);
  assert.deepEqual(recent.range('!a:test', 103, 105, 0)?.map((e) => e.streamOrdering), [105]);
});
