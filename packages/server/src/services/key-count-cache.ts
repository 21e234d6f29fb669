/**
 * Each device's count of unclaimed one-time keys and its unused fallback-key types, which every /sync
 * answer carries: kept in memory until the device's keys are uploaded or claimed (this process drops
 * them at once, the others at the notifier's "oneTimeKeys" mark) or a session of its user ends
 * ("sessions": a device deleted and created again starts without keys). Nothing is served while the
 * notifier may be missing notices.
 */
import type { Notifier } from './notifier.ts';

export interface KeyCounts {
  oneTimeKeys: Record<string, number>;
  unusedFallbackTypes: string[];
}

const MAX_USERS = 50_000;

export class KeyCountCache {
  readonly #notifier: Notifier;
  readonly #byUser = new Map<string, Map<string, KeyCounts>>();
  /** Moves at every drop: counts read before it must not be remembered. */
  #generation = 0;

  constructor(notifier: Notifier) {
    this.#notifier = notifier;
    for (const kind of ['oneTimeKeys', 'sessions'] as const) {
      notifier.onMarked(kind, (userIds) => (userIds === 'all' ? this.clear() : this.forgetUsers(userIds)));
    }
  }

  /** Take before reading the database; hand to `remember` with what was read. */
  get generation(): number {
    return this.#generation;
  }

  get(userId: string, deviceId: string): KeyCounts | undefined {
    return this.#notifier.live ? this.#byUser.get(userId)?.get(deviceId) : undefined;
  }

  remember(userId: string, deviceId: string, counts: KeyCounts, generation: number): void {
    if (generation !== this.#generation || !this.#notifier.live) return;
    if (this.#byUser.size >= MAX_USERS) this.clear();
    let devices = this.#byUser.get(userId);
    if (!devices) this.#byUser.set(userId, (devices = new Map()));
    devices.set(deviceId, counts);
  }

  forgetUsers(userIds: Iterable<string>): void {
    this.#generation++;
    for (const userId of userIds) this.#byUser.delete(userId);
  }

  clear(): void {
    this.#generation++;
    this.#byUser.clear();
  }
}
