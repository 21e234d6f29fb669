/**
 * Retention policy rules, pure: which m.room.retention content a room may have (MSC1763, bounded by
 * the organisation's allowed range), and when an event's content expires.
 *
 * An event's expiry is fixed when it is appended: the earliest of
 *  - origin_server_ts + the room's max_lifetime (or the organisation default when the room has none),
 *    kept within the organisation's allowed range, and
 *  - the message's own `org.caduceus.expires_at` (ms since the epoch; in encrypted rooms it goes in the
 *    unencrypted wrapper content of m.room.encrypted, beside `ciphertext`, so the server can read it).
 * A message may not ask to vanish sooner than the room's min_lifetime or the organisation's minimum
 * allow (orders texted to the team must reach the EHR first). State events never expire: they are
 * what makes the room usable.
 */
import { MatrixError } from '@caduceus/core';
import type { RetentionConfig } from '../../config/config.ts';

export const RETENTION_EVENT_TYPE = 'm.room.retention';
/** Content key of a per-message lifespan (ms timestamp). */
export const EXPIRES_AT_KEY = 'org.caduceus.expires_at';

export interface RoomRetention {
  maxLifetimeMs?: number | undefined;
  minLifetimeMs?: number | undefined;
}

const isMs = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** A readable duration for error messages ("1 day", "90 minutes"). */
export function describeMs(ms: number): string {
  const units: Array<[number, string]> = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  for (const [size, name] of units) if (ms >= size && ms % size === 0) return `${ms / size} ${name}${ms / size === 1 ? '' : 's'}`;
  return `${ms} ms`;
}

function allowedRange(config: RetentionConfig): string {
  const min = config.minAllowedMs > 0 ? describeMs(config.minAllowedMs) : 'no minimum';
  const max = config.maxAllowedMs !== null ? describeMs(config.maxAllowedMs) : 'no maximum';
  return `this organisation allows message lifetimes from ${min} to ${max}`;
}

/**
 * Checks m.room.retention content before it is sent: malformed values are 400 M_BAD_JSON, values
 * outside the organisation's allowed range 403 M_FORBIDDEN (with the range in the message).
 */
export function checkRoomRetention(content: Record<string, unknown>, config: RetentionConfig): RoomRetention {
  const { max_lifetime: max, min_lifetime: min } = content;
  if (max !== undefined && (!isMs(max) || max === 0)) throw new MatrixError('M_BAD_JSON', 'max_lifetime must be a positive whole number of milliseconds');
  if (min !== undefined && !isMs(min)) throw new MatrixError('M_BAD_JSON', 'min_lifetime must be a whole number of milliseconds');
  if (max !== undefined && min !== undefined && min > max) throw new MatrixError('M_BAD_JSON', 'min_lifetime must not exceed max_lifetime');
  if (max !== undefined && max < config.minAllowedMs) throw new MatrixError('M_FORBIDDEN', `max_lifetime ${describeMs(max)} is too short: ${allowedRange(config)}`);
  if (max !== undefined && config.maxAllowedMs !== null && max > config.maxAllowedMs) {
    throw new MatrixError('M_FORBIDDEN', `max_lifetime ${describeMs(max)} is too long: ${allowedRange(config)}`);
  }
  if (min !== undefined && config.maxAllowedMs !== null && min > config.maxAllowedMs) {
    throw new MatrixError('M_FORBIDDEN', `min_lifetime ${describeMs(min)} is too long: ${allowedRange(config)}`);
  }
  return { maxLifetimeMs: max, minLifetimeMs: min };
}

/** The room's policy as stored (already validated when sent; read leniently). */
export function roomRetentionOf(content: Record<string, unknown> | undefined): RoomRetention {
  if (!content) return {};
  return {
    maxLifetimeMs: isMs(content.max_lifetime) && content.max_lifetime > 0 ? content.max_lifetime : undefined,
    minLifetimeMs: isMs(content.min_lifetime) ? content.min_lifetime : undefined,
  };
}

/** How long messages of a room with this policy live; null: kept. The allowed range applies even to an older policy. */
export function effectiveMaxLifetime(room: RoomRetention, config: RetentionConfig): number | null {
  const lifetime = room.maxLifetimeMs ?? config.defaultMaxLifetimeMs;
  if (lifetime === null) return null;
  const atLeast = Math.max(lifetime, config.minAllowedMs);
  return config.maxAllowedMs !== null ? Math.min(atLeast, config.maxAllowedMs) : atLeast;
}

/**
 * When a non-state event's content expires (null: kept). Throws 400 M_INVALID_PARAM for an
 * `org.caduceus.expires_at` that is not a timestamp or is sooner than allowed.
 */
export function expiryOf(event: { stateKey?: string | undefined; originServerTs: number; content: Record<string, unknown> }, room: RoomRetention, config: RetentionConfig): number | null {
  if (event.stateKey !== undefined) return null;
  const lifetime = effectiveMaxLifetime(room, config);
  let expires = lifetime === null ? null : event.originServerTs + lifetime;
  const asked = event.content[EXPIRES_AT_KEY];
  if (asked !== undefined) {
    if (!isMs(asked)) throw new MatrixError('M_INVALID_PARAM', `${EXPIRES_AT_KEY} must be a timestamp in milliseconds`);
    const minimum = Math.max(config.minAllowedMs, room.minLifetimeMs ?? 0);
    if (asked < event.originServerTs + minimum) {
      throw new MatrixError('M_INVALID_PARAM', `${EXPIRES_AT_KEY} is too soon: messages here are kept at least ${describeMs(minimum)} after sending`);
    }
    expires = expires === null ? asked : Math.min(expires, asked);
  }
  return expires;
}

/** The numbers of a retention policy, for the audit trail. */
export function retentionAuditDetails(content: Record<string, unknown>): Record<string, number | null> {
  const room = roomRetentionOf(content);
  return { max_lifetime: room.maxLifetimeMs ?? null, min_lifetime: room.minLifetimeMs ?? null };
}
