/** Known tokens expire spread out, never later than the bound on a lost notice. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ENTRY_LIFETIME_MS, REFRESH_AHEAD_MS, SessionCache, type CachedSession } from './session-cache.ts';
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

test('an entry in its last seconds is handed out for one background read, and served meanwhile until its end', () => {
  const cache = new SessionCache(liveNotifier, () => 0.999_999);
  cache.remember('token', session('@nurse:hospital.example'), cache.generation, 0);
  const end = ENTRY_LIFETIME_MS - 1;
  assert.equal(cache.claimRefresh('token', end - REFRESH_AHEAD_MS - 1), false, 'not before its last seconds');
  assert.equal(cache.claimRefresh('token', end - REFRESH_AHEAD_MS + 1), true, 'the first request in them reads it again');
  assert.equal(cache.claimRefresh('token', end - 1000), false, 'only once');
  assert.ok(cache.get('token', end - 1), 'served while the read is under way');
  // The read's answer starts a new lifetime.
  cache.remember('token', session('@nurse:hospital.example'), cache.generation, end - 1000);
  assert.ok(cache.get('token', end + 1000));
  assert.equal(cache.claimRefresh('token', end + 1000), false);
});

test("a background read that began before the user's sessions changed is not kept; one that found the token gone drops it", () => {
  const cache = new SessionCache(liveNotifier, () => 0);
  cache.remember('token', session('@nurse:hospital.example'), cache.generation, 0);
  assert.ok(cache.claimRefresh('token', ENTRY_LIFETIME_MS / 2 - 1));
  const generation = cache.generation;
  cache.forgetUser('@nurse:hospital.example');
  cache.remember('token', session('@nurse:hospital.example'), generation, ENTRY_LIFETIME_MS / 2 - 1);
  assert.equal(cache.get('token', ENTRY_LIFETIME_MS / 2 - 1), undefined, 'a logout in between wins');

  cache.remember('other', session('@doctor:hospital.example'), cache.generation, 0);
  cache.forget('other');
  assert.equal(cache.get('other', 1), undefined);
});
