/**
 * How long the app may stay idle before it locks: the organisation's setting from
 * `GET /_caduceus/client/v1/policy` (served without a token), or 15 minutes when the server has no
 * such endpoint or no value.
 */
import type { MatrixClient } from 'matrix-js-sdk';
import { getJson } from '../../matrix/client.ts';

export const DEFAULT_IDLE_LOCK_MINUTES = 15;

/**
 * `idle_lock_minutes` from the policy document. A missing or null value (the organisation set no idle
 * timeout) still locks after the default: the lock protects an unattended screen either way.
 */
export function idleMinutesFrom(policy: unknown): number | undefined {
  const value = (policy as { idle_lock_minutes?: unknown } | undefined)?.idle_lock_minutes;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

export async function fetchIdleLockMinutes(client: MatrixClient): Promise<number> {
  try {
    return idleMinutesFrom(await getJson(client, '/_caduceus/client/v1/policy')) ?? DEFAULT_IDLE_LOCK_MINUTES;
  } catch {
    return DEFAULT_IDLE_LOCK_MINUTES;
  }
}
