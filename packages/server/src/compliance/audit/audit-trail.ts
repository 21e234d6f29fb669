/**
 * The audit trail as the rest of the server sees it: services call `record()` for everything a
 * security officer must be able to reconstruct ("who did what to which, when, with what outcome").
 * Entries hold ids, counts and hashes — never message content, passwords, tokens or codes.
 *
 * Actions are dotted names, area first: `auth.login`, `auth.logout`, `auth.mfa.enroll`,
 * `auth.lockout`, `session.wipe`, `device.delete`, `keys.upload`, `room.create`, `room.member`,
 * `event.send`, `event.redact`, `event.read`, `media.upload`, `media.read`, `admin.<area>.<verb>`,
 * `policy.refuse`, `audit.export`.
 */
import type { Stores } from '../../storage/index.ts';

export type AuditOutcome = 'success' | 'failure' | 'refused';

/** Who acted. Fields left out are filled from the current request (see request-context). */
export interface AuditActor {
  userId?: string | null;
  deviceId?: string | null;
  address?: string | null;
  userAgent?: string | null;
}

export interface AuditRecord {
  action: string;
  outcome: AuditOutcome;
  actor?: AuditActor;
  /** Ids the action concerned: userId, roomId, eventId, deviceId, mediaId, … */
  target?: Record<string, string>;
  /** Non-content facts: event type, size in bytes, SHA-256 of the content, reason codes, counts. */
  details?: Record<string, string | number | boolean | null>;
}

export interface AuditTrail {
  /**
   * Appends an entry. With `stores` (an open transaction) the entry commits or rolls back with the
   * action it describes; without, it is written on its own. Either way, if it cannot be written the
   * promise rejects and the caller's action must fail.
   */
  record(entry: AuditRecord, stores?: Stores): Promise<void>;
  /**
   * A database transaction for an action that records its entry with `stores`. It takes the chain's
   * lock first, as the stream writer does, so on PostgreSQL it cannot deadlock with a write batch
   * (every transaction locks stream → audit chain → rows, in that order). Stream-writer jobs need
   * nothing of the sort: record with `ctx.stores`.
   */
  transaction<T>(work: (stores: Stores) => Promise<T>): Promise<T>;
  /**
   * Records that the current caller read events of these rooms (`event.read`) or this media
   * (`media.read`) — or, with outcome `refused`, tried to and was not allowed (not in the room).
   * Coalesced: a read is written at most once a minute per device, target and outcome, and it is
   * written before the promise resolves, so the caller answers only once the read is on record.
   * Nothing to wait for (every read already on record this minute): returns no promise at all.
   */
  recordReads(via: ReadPath, targets: ReadonlyArray<ReadTarget>, outcome?: 'success' | 'refused'): Promise<void> | undefined;
}

/** Where a read came from. */
export type ReadPath = 'sync' | 'messages' | 'context' | 'event' | 'state' | 'media';

export type ReadTarget = { roomId: string } | { mediaId: string };
