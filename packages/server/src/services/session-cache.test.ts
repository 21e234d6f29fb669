/** Known tokens expire spread out, never later than the bound on a lost notice. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ENTRY_LIFETIME_MS, SessionCache, type CachedSession } from './session-cache.ts';
import type { Notifier } from './notifier.ts';

const liveNotifier = { live: true, onMarked() {} } as unknown as Notifier;

const session = (userId: string): CachedSession => ({
  userId,
  deviceId: 'PHONE',
  expiresTs: null,
  device: { createdTs: 0, sessionStartedTs: 0, lastSeenTs: null },
  deviceKey: `${userId}\u0000PHONE`,
});

/** The moment (ms after being cached at 0) each of `count` tokens cached together is no longer served. */
function expiries(cache: SessionCache, count: number): number[] {
  for (let i = 0; i < count; i++) cache.remember(`token${i}`, session(`@u${i}:hospital.example`), cache.generation, 0);
  const gone: number[] = new Array(count).fill(-1);
  for (let now = 0; now <= ENTRY_LIFETIME_MS; now += 100) {
    for (let i = 0; i < count; i++) if (gone[i] === -1 && !cache.get(`token${i}`, now)) gone[i] = now;
  }
  return gone;
}

test('tokens cached at the same moment are read again spread over the last half of the lifetime, none later than it', () => {
  const gone = expiries(new SessionCache(liveNotifier), 1000);
  assert.ok(gone.every((t) => t >= ENTRY_LIFETIME_MS / 2 && t <= ENTRY_LIFETIME_MS), 'every entry ends between half the lifetime and the lifetime');
  // Spread: no tenth of that span holds more than a fifth of the entries (all at once was the burst).
  const buckets = new Array(10).fill(0);
  for (const t of gone) buckets[Math.min(9, Math.floor(((t - ENTRY_LIFETIME_MS / 2) / (ENTRY_LIFETIME_MS / 2)) * 10))]++;
  assert.ok(Math.max(...buckets) < 200, `expiries per tenth of the span: ${buckets.join(', ')}`);
  assert.ok(buckets.every((n) => n > 0), `expiries per tenth of the span: ${buckets.join(', ')}`);
});

test('the spread is drawn per entry: the extremes of the random draw give half the lifetime and just under all of it', () => {
  const draws = [0, 0.999_999];
  const cache = new SessionCache(liveNotifier, () => draws.shift()!);
  const gone = expiries(cache, 2);
  assert.deepEqual(gone, [ENTRY_LIFETIME_MS / 2, ENTRY_LIFETIME_MS]);
});
