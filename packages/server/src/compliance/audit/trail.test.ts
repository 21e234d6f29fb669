/** Read records that fall due together are written together, and still chained one after another. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import type { AuditEntryRow, Storage, Stores } from '../../storage/index.ts';
import { GENESIS_HASH, entryHash } from './chain.ts';
import { HashChainedAuditTrail, type RequestFacts } from './trail.ts';

/** A storage holding only an audit chain in memory, counting its transactions; `failNext` makes one fail. */
function chainStorage() {
  const rows: AuditEntryRow[] = [];
  const state = { transactions: 0, failNext: false };
  const storage = {
    transaction: async <T>(work: (stores: Stores) => Promise<T>): Promise<T> => {
      state.transactions++;
      const pending: AuditEntryRow[] = [];
      const audit = {
        lock: async () => {},
        head: async () => {
          const last = pending.at(-1) ?? rows.at(-1);
          return last && { seq: last.seq, hash: last.hash };
        },
        append: async (row: AuditEntryRow) => void pending.push(row),
        latestCheckpoint: async () => ({ seq: 0, ts: Date.now(), hash: '', keyId: '', signature: '' }),
        addCheckpoint: async () => {},
      };
      const result = await work({ audit } as unknown as Stores);
      if (state.failNext) {
        state.failNext = false;
        throw new Error('the database went away');
      }
      rows.push(...pending);
      return result;
    },
  } as unknown as Storage;
  return { storage, rows, state };
}

function trailOver(storage: Storage, reader: () => RequestFacts) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return new HashChainedAuditTrail(storage, { now: () => Date.now() }, { keyId: 'ed25519:test', privateKey, publicKey, publicKeyBase64: '' }, reader);
}

const device = (i: number): RequestFacts => ({ requestId: `req${i}`, address: '10.0.0.1', userAgent: null, userId: `@u${i}:hospital.example`, deviceId: 'PHONE' });

test('reads of a thousand devices recorded at once take a few transactions, each read on record before its answer, the chain intact', async () => {
  const { storage, rows, state } = chainStorage();
  let current = device(0);
  const trail = trailOver(storage, () => current);
  const writes: Array<Promise<void> | undefined> = [];
  for (let i = 0; i < 1000; i++) {
    current = device(i);
    writes.push(trail.recordReads('sync', [{ roomId: '!ward:hospital.example' }]));
  }
  await Promise.all(writes);
  assert.equal(rows.length, 1000, 'every device read is on record');
  assert.ok(state.transactions <= 2, `${state.transactions} transactions for 1,000 records (one each before)`);
  assert.deepEqual(new Set(rows.map((r) => r.actorUserId)).size, 1000);
  rows.forEach((row, i) => {
    assert.equal(row.seq, i + 1);
    assert.equal(row.prevHash, i === 0 ? GENESIS_HASH : rows[i - 1]!.hash);
    const { hash, ...rest } = row;
    assert.equal(hash, entryHash(rest), `entry ${row.seq} hashes to its stored hash`);
  });
});

test('reads recorded while a group is being written form the next group; a failed group is tried again by the next read', async () => {
  const { storage, rows, state } = chainStorage();
  let current = device(1);
  const trail = trailOver(storage, () => current);
  state.failNext = true;
  const first = trail.recordReads('sync', [{ roomId: '!a:hospital.example' }]);
  await assert.rejects(first!, /went away/);
  assert.equal(rows.length, 0);
  // The failed record was forgotten: the same read is recorded on its next try.
  const again = trail.recordReads('sync', [{ roomId: '!a:hospital.example' }]);
  assert.ok(again, 'not coalesced with the failed record');
  current = device(2);
  const other = trail.recordReads('sync', [{ roomId: '!b:hospital.example' }]);
  await Promise.all([again, other]);
  assert.deepEqual(
    rows.map((r) => [r.actorUserId, JSON.parse(r.target).roomId]),
    [
      ['@u1:hospital.example', '!a:hospital.example'],
      ['@u2:hospital.example', '!b:hospital.example'],
    ],
  );
  // Within the coalescing window the same device and room is not recorded again.
  current = device(1);
  assert.equal(trail.recordReads('sync', [{ roomId: '!a:hospital.example' }]), undefined);
});
