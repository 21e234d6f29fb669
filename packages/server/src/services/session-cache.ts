/**
 * Known access tokens in memory, so that authenticating a request — twice per /sync long-poll, on
 * arrival and on waking — costs no query. Only a shortcut: a user's entries are dropped whenever one
 * of their sessions ends or restarts (in this process at the change's publish, in the others when the
 * notifier's "sessions" mark reaches them), nothing is served while the notifier may be missing
 * notices, and no entry lives longer than a bound on any notice lost anyway (a process dying between
 * its commit and its NOTIFY). The policy (idle, lifetime, token expiry) is still checked per request.
 */
import type { Notifier } from './notifier.ts';
import type { DeviceTimes } from './session-policy.ts';

/** What a token stood for when it was read from the database. */
export interface CachedSession {
  userId: string;
  deviceId: string;
  expiresTs: number | null;
  device: DeviceTimes;
  /** `deviceKeyOf(userId, deviceId)`, made once. */
  deviceKey: string;
}

/** The longest an entry is trusted without reading the database again. */
export const ENTRY_LIFETIME_MS = 30_000;
/**
 * Each entry lives a random part of the last half of that: tokens read together (every client
 * reconnecting after a restart, or a thousand long-polls signed in at once) would otherwise all be
 * read again in the same instant every 30 s, a burst of queries that holds up every request behind it.
 */
const SHORTEST_LIFETIME_MS = ENTRY_LIFETIME_MS / 2;
/**
 * In its last seconds an entry is read again in the background by the first request that uses it
 * (`claimRefresh`), so a token in steady use never makes a request wait for the database.
 */
export const REFRESH_AHEAD_MS = 5_000;
const MAX_ENTRIES = 100_000;

export class SessionCache {
  readonly #notifier: Notifier;
  readonly #byToken = new Map<string, { session: CachedSession; cachedAt: number; lifetimeMs: number; refreshing: boolean }>();
  readonly #byUser = new Map<string, Set<string>>();
  /** Moves at every drop: a read that began before it must not be remembered. */
  #generation = 0;

  readonly #random: () => number;

  /** `random` (0 ≤ x < 1) spreads the entries' lifetimes; tests pass their own. */
  constructor(notifier: Notifier, random: () => number = Math.random) {
    this.#notifier = notifier;
    this.#random = random;
    notifier.onMarked('sessions', (userIds) => (userIds === 'all' ? this.clear() : userIds.forEach((u) => this.forgetUser(u))));
  }

  /** Take before reading the database; hand to `remember` with what was read. */
  get generation(): number {
    return this.#generation;
  }

  get(tokenHash: string, now: number): CachedSession | undefined {
    if (!this.#notifier.live) return undefined;
    const entry = this.#byToken.get(tokenHash);
    if (!entry) return undefined;
    if (now - entry.cachedAt >= entry.lifetimeMs || now < entry.cachedAt) {
      this.#drop(tokenHash, entry.session.userId);
      return undefined;
    }
    return entry.session;
  }

  /**
   * True, once per entry, when a request uses an entry in its last REFRESH_AHEAD_MS: the caller reads
   * the token again without waiting and hands the answer to `remember` (or `forget`).
   */
  claimRefresh(tokenHash: string, now: number): boolean {
    const entry = this.#byToken.get(tokenHash);
    if (!entry || entry.refreshing || now - entry.cachedAt < entry.lifetimeMs - REFRESH_AHEAD_MS) return false;
    entry.refreshing = true;
    return true;
  }

  /** Drops one token (a refresh found it gone): the next request reads the database and is told why. */
  forget(tokenHash: string): void {
    const entry = this.#byToken.get(tokenHash);
    if (entry) this.#drop(tokenHash, entry.session.userId);
  }

  /** Keeps a session read from the database, unless something was dropped since the read began. */
  remember(tokenHash: string, session: CachedSession, generation: number, now: number): void {
    if (generation !== this.#generation || !this.#notifier.live) return;
    if (this.#byToken.size >= MAX_ENTRIES) this.clear();
    const lifetimeMs = SHORTEST_LIFETIME_MS + Math.floor(this.#random() * (ENTRY_LIFETIME_MS - SHORTEST_LIFETIME_MS));
    this.#byToken.set(tokenHash, { session, cachedAt: now, lifetimeMs, refreshing: false });
    let tokens = this.#byUser.get(session.userId);
    if (!tokens) this.#byUser.set(session.userId, (tokens = new Set()));
    tokens.add(tokenHash);
  }

  forgetUser(userId: string): void {
    this.#generation++;
    for (const tokenHash of this.#byUser.get(userId) ?? []) this.#byToken.delete(tokenHash);
    this.#byUser.delete(userId);
  }

  clear(): void {
    this.#generation++;
    this.#byToken.clear();
    this.#byUser.clear();
  }

  #drop(tokenHash: string, userId: string) {
    this.#byToken.delete(tokenHash);
    const tokens = this.#byUser.get(userId);
    tokens?.delete(tokenHash);
    if (tokens?.size === 0) this.#byUser.delete(userId);
  }
}
