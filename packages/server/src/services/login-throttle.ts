/**
 * Slows down password guessing: after a few failures for an account or from an address, each
 * further attempt must wait, doubling up to a ceiling. Successful sign-in clears the account's record.
 * Kept in memory per process: with several processes an attacker gets at most that many times the budget.
 */
import { limitExceeded } from '@caduceus/core';
import type { Clock } from './clock.ts';

interface Failures {
  count: number;
  lastTs: number;
}

export interface ThrottleRules {
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A record is forgotten after this long without failures. */
  forgetAfterMs: number;
  /** After this many failures in a row the key is locked out for `lockoutMs` (a security officer hears of it). */
  lockoutAfter?: number;
  lockoutMs?: number;
}

export const accountRules: ThrottleRules = {
  freeFailures: 5,
  baseDelayMs: 1_000,
  maxDelayMs: 15 * 60_000,
  forgetAfterMs: 60 * 60_000,
  lockoutAfter: 10,
  lockoutMs: 15 * 60_000,
};
export const addressRules: ThrottleRules = { freeFailures: 20, baseDelayMs: 1_000, maxDelayMs: 15 * 60_000, forgetAfterMs: 60 * 60_000 };

class FailureTable {
  readonly #entries = new Map<string, Failures>();
  readonly #rules: ThrottleRules;
  constructor(rules: ThrottleRules) {
    this.#rules = rules;
  }

  /** Milliseconds the next attempt must still wait (0: go ahead). */
  waitMs(key: string, now: number): number {
    const entry = this.#entries.get(key);
    if (!entry) return 0;
    if (now - entry.lastTs > this.#rules.forgetAfterMs) {
      this.#entries.delete(key);
      return 0;
    }
    const over = entry.count - this.#rules.freeFailures;
    if (over < 0) return 0;
    let delay = Math.min(this.#rules.maxDelayMs, this.#rules.baseDelayMs * 2 ** Math.min(over, 30));
    if (this.#rules.lockoutAfter !== undefined && entry.count >= this.#rules.lockoutAfter) delay = Math.max(delay, this.#rules.lockoutMs ?? 0);
    return Math.max(0, entry.lastTs + delay - now);
  }

  /** Counts a failure; true when this one starts a lockout. */
  fail(key: string, now: number): boolean {
    const entry = this.#entries.get(key);
    let count = 1;
    if (entry && now - entry.lastTs <= this.#rules.forgetAfterMs) {
      count = entry.count += 1;
      entry.lastTs = now;
    } else {
      this.#entries.set(key, { count: 1, lastTs: now });
    }
    if (this.#entries.size > 100_000) this.#sweep(now);
    return count === this.#rules.lockoutAfter;
  }

  clear(key: string) {
    this.#entries.delete(key);
  }

  #sweep(now: number) {
    for (const [key, entry] of this.#entries) {
      if (now - entry.lastTs > this.#rules.forgetAfterMs) this.#entries.delete(key);
    }
  }
}

export class LoginThrottle {
  readonly #accounts = new FailureTable(accountRules);
  readonly #addresses = new FailureTable(addressRules);
  readonly #clock: Clock;
  readonly #enabled: boolean;

  constructor(clock: Clock, enabled: boolean) {
    this.#clock = clock;
    this.#enabled = enabled;
  }

  /** Throws M_LIMIT_EXCEEDED when the account or the address must wait before another attempt. */
  check(account: string, address: string) {
    if (!this.#enabled) return;
    const now = this.#clock.now();
    const wait = Math.max(this.#accounts.waitMs(account, now), this.#addresses.waitMs(address, now));
    if (wait > 0) throw limitExceeded(wait);
  }

  /** Counts a failed attempt; returns true when it locks the account out (the caller reports the lockout). */
  recordFailure(account: string, address: string): boolean {
    if (!this.#enabled) return false;
    const now = this.#clock.now();
    this.#addresses.fail(address, now);
    return this.#accounts.fail(account, now);
  }

  recordSuccess(account: string) {
    this.#accounts.clear(account);
  }
}
