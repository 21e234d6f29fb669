/**
 * Retention as the rest of the server uses it: the purge (run by the job in src/jobs, or at once with
 * runOnce), the organisation's policy, and legal holds. A hold on a user or a room suspends purging
 * and redaction erasure for it until released; the admin API places and releases holds (audited there).
 */
import { randomUUID } from 'node:crypto';
import { MatrixError, isValidRoomId, parseUserId } from '@caduceus/core';
import { RetentionPurger, type PurgeReport } from '../compliance/retention/index.ts';
import type { LegalHold, Stores } from '../storage/index.ts';
import type { ServiceDeps } from './index.ts';
import type { MediaService } from './media.ts';

export interface HoldRequest {
  user_id?: string | undefined;
  room_id?: string | undefined;
  reason: string;
}

export class RetentionService {
  readonly #deps: ServiceDeps;
  readonly #purger: RetentionPurger;

  constructor(deps: ServiceDeps, media: MediaService) {
    this.#deps = deps;
    this.#purger = new RetentionPurger({
      retention: deps.config.retention,
      storage: deps.storage,
      writer: deps.writer,
      clock: deps.clock,
      audit: deps.audit,
      deleteMediaContent: (sha256) => media.deleteContent(sha256),
    });
  }

  /** One purge pass now (tests, the admin API and the scheduled job). */
  runOnce(): Promise<PurgeReport> {
    return this.#purger.runOnce();
  }

  /** The organisation's retention settings, as administrators and clients may read them. */
  policy() {
    const r = this.#deps.config.retention;
    return {
      default_max_lifetime: r.defaultMaxLifetimeMs,
      min_allowed: r.minAllowedMs,
      max_allowed: r.maxAllowedMs,
      redaction_grace: r.redactionGraceMs,
      to_device_max_age: r.toDeviceMaxAgeMs,
      purge_interval: r.purgeIntervalMs,
    };
  }

  listHolds(): Promise<LegalHold[]> {
    return this.#deps.storage.retention.listHolds();
  }

  /** Places a hold on exactly one user or room of this server (which must exist), inside `stores`' transaction. */
  async placeHold(stores: Stores, createdBy: string, request: HoldRequest): Promise<LegalHold> {
    const reason = request.reason.trim();
    if (reason === '') throw new MatrixError('M_INVALID_PARAM', 'A legal hold needs a reason (e.g. the case or matter reference)');
    if ((request.user_id === undefined) === (request.room_id === undefined)) throw new MatrixError('M_INVALID_PARAM', 'Give exactly one of user_id and room_id');
    let hold: LegalHold;
    if (request.user_id !== undefined) {
      const parsed = parseUserId(request.user_id);
      if (!parsed || parsed.serverName !== this.#deps.config.serverName) throw new MatrixError('M_INVALID_PARAM', 'Not a user id of this server');
      if (!(await stores.users.get(request.user_id))) throw new MatrixError('M_NOT_FOUND', 'No such user');
      hold = this.#hold('user', request.user_id, reason, createdBy);
    } else {
      const roomId = request.room_id!;
      if (!isValidRoomId(roomId)) throw new MatrixError('M_INVALID_PARAM', 'Not a room id');
      if (!(await stores.rooms.get(roomId))) throw new MatrixError('M_NOT_FOUND', 'No such room');
      hold = this.#hold('room', roomId, reason, createdBy);
    }
    await stores.retention.placeHold(hold);
    return hold;
  }

  /** Releases a hold; purging of what it covered resumes at the next run (unless another hold covers it). */
  async releaseHold(stores: Stores, holdId: string): Promise<LegalHold> {
    const released = await stores.retention.releaseHold(holdId);
    if (!released) throw new MatrixError('M_NOT_FOUND', 'No such legal hold');
    return released;
  }

  #hold(kind: LegalHold['kind'], target: string, reason: string, createdBy: string): LegalHold {
    return { holdId: `hold_${randomUUID()}`, kind, target, reason, createdBy, createdTs: this.#deps.clock.now() };
  }
}
