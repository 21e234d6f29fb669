/**
 * Automatic logoff: when a session ends by itself. Two limits, each optional: inactivity (no request
 * from the device for N minutes) and an absolute lifetime counted from sign-in.
 *
 * Activity is known exactly in this process (every authenticated request notes it in memory); the
 * database's `last_seen_ts`, written at most every few seconds to a minute, is the fallback that
 * lets another process, or this one after a restart, enforce the same limit (at worst that far early).
 */

export interface SessionPolicy {
  /** null: sessions never end for inactivity. */
  idleTimeoutMs: number | null;
  /** null: sessions have no absolute lifetime. */
  maxLifetimeMs: number | null;
}

/** What the database knows of a device's session times. */
export interface DeviceTimes {
  createdTs: number;
  /** Null for devices from before session times were recorded: the device's creation counts. */
  sessionStartedTs: number | null;
  lastSeenTs: number | null;
}

export interface SessionExpiry {
  /** Why the session has ended, or false while it is alive. */
  expired: 'idle' | 'lifetime' | false;
  startedTs: number;
  lastActiveTs: number;
  /** When it will end for inactivity if nothing happens (null: no idle limit). */
  idleEndsTs: number | null;
  /** When it ends whatever happens (null: no lifetime limit). */
  lifetimeEndsTs: number | null;
}

export function expiryOf(policy: SessionPolicy, device: DeviceTimes, lastInMemory: number | undefined, now: number): SessionExpiry {
  const startedTs = device.sessionStartedTs ?? device.createdTs;
  // The newest of what this process saw, what the database says, and the sign-in itself (a new
  // sign-in on an old device must not inherit the old "last seen").
  const lastActiveTs = Math.max(lastInMemory ?? 0, device.lastSeenTs ?? 0, startedTs);
  const idleEndsTs = policy.idleTimeoutMs === null ? null : lastActiveTs + policy.idleTimeoutMs;
  const lifetimeEndsTs = policy.maxLifetimeMs === null ? null : startedTs + policy.maxLifetimeMs;
  const expired = lifetimeEndsTs !== null && now >= lifetimeEndsTs ? 'lifetime' : idleEndsTs !== null && now >= idleEndsTs ? 'idle' : false;
  return { expired, startedTs, lastActiveTs, idleEndsTs, lifetimeEndsTs };
}

/** Most devices whose last activity is kept in memory; the least recently active are dropped first (they fall back to the database). */
const MAX_TRACKED_DEVICES = 100_000;

/** How exact the last activity is kept. */
const NOTE_GRANULARITY_MS = 1000;

/**
 * A device's key in the per-device maps. Every request looks a device up several times: a key made
 * once and kept (with the cached session) is hashed once, not at every lookup.
 */
export const deviceKeyOf = (userId: string, deviceId: string) => `${userId}\u0000${deviceId}`;

/** The last activity of each device that made a request to this process (to the second). */
export class ActivityTracker {
  readonly #last = new Map<string, number>();

  note(userId: string, deviceId: string, now: number, key = deviceKeyOf(userId, deviceId)): void {
    // A second is nothing to an idle timeout of minutes; skipping the re-insert is something to a
    // device that makes many requests a second.
    const last = this.#last.get(key);
    if (last !== undefined && now >= last && now - last < NOTE_GRANULARITY_MS) return;
    // Re-inserting keeps the map ordered by activity, so the oldest entry is the first one.
    this.#last.delete(key);
    this.#last.set(key, now);
    if (this.#last.size > MAX_TRACKED_DEVICES) {
      const oldest = this.#last.keys().next().value;
      if (oldest !== undefined) this.#last.delete(oldest);
    }
  }

  lastOf(userId: string, deviceId: string, key = deviceKeyOf(userId, deviceId)): number | undefined {
    return this.#last.get(key);
  }

  forget(userId: string, deviceId: string): void {
    this.#last.delete(deviceKeyOf(userId, deviceId));
  }
}
