/**
 * Retention as an administrator uses it: legal holds (place, release, list), the organisation's
 * policy, and a purge run on demand. Every call is on the audit trail as admin.retention.<verb>,
 * a hold's placement and release in the same transaction as the change.
 */
import type { AuditTrail } from '../../compliance/audit/index.ts';
import type { LegalHold } from '../../storage/index.ts';
import type { HoldRequest, RetentionService } from '../retention.ts';
import { AdminAuditor, type AdminCaller } from './access.ts';

const view = (h: LegalHold) => ({
  hold_id: h.holdId,
  ...(h.kind === 'user' ? { user_id: h.target } : { room_id: h.target }),
  reason: h.reason,
  created_by: h.createdBy,
  created_ts: h.createdTs,
});

const targetOf = (h: Pick<LegalHold, 'kind' | 'target'>): Record<string, string> => (h.kind === 'user' ? { userId: h.target } : { roomId: h.target });

export class AdminRetentionService {
  readonly #retention: RetentionService;
  readonly #audit: AuditTrail;
  readonly #auditor: AdminAuditor;

  constructor(retention: RetentionService, audit: AuditTrail) {
    this.#retention = retention;
    this.#audit = audit;
    this.#auditor = new AdminAuditor(audit);
  }

  async listHolds(caller: AdminCaller) {
    return this.#auditor.run(caller, 'retention', 'holds', {}, async (record) => {
      const holds = await this.#retention.listHolds();
      await record({ count: holds.length });
      return { holds: holds.map(view) };
    });
  }

  async placeHold(caller: AdminCaller, request: HoldRequest) {
    const target: Record<string, string> = {};
    if (request.user_id !== undefined) target.userId = request.user_id;
    if (request.room_id !== undefined) target.roomId = request.room_id;
    return this.#auditor.run(caller, 'retention', 'hold', target, async (record) => {
      const hold = await this.#audit.transaction(async (stores) => {
        const placed = await this.#retention.placeHold(stores, caller.userId, request);
        // The reason is a case reference an administrator typed: kept with the hold, and its length only here.
        await record({ holdId: placed.holdId, kind: placed.kind, reasonLength: placed.reason.length }, stores);
        return placed;
      });
      return view(hold);
    });
  }

  async releaseHold(caller: AdminCaller, holdId: string) {
    return this.#auditor.run(caller, 'retention', 'release', { holdId }, async (record) => {
      const released = await this.#audit.transaction(async (stores) => {
        const hold = await this.#retention.releaseHold(stores, holdId);
        await record({ holdId, kind: hold.kind, ...prefixed(targetOf(hold)) }, stores);
        return hold;
      });
      return view(released);
    });
  }

  async policy(caller: AdminCaller) {
    return this.#auditor.run(caller, 'retention', 'policy', {}, async () => this.#retention.policy());
  }

  /** Runs a purge pass now and answers with its counts. */
  async purge(caller: AdminCaller) {
    return this.#auditor.run(caller, 'retention', 'purge', {}, async (record) => {
      const report = await this.#retention.runOnce();
      await record({ ran: report.ran, deletedEvents: report.deletedEvents, prunedEvents: report.prunedEvents, deletedMedia: report.deletedMedia });
      return {
        ran: report.ran,
        deleted_events: report.deletedEvents,
        pruned_events: report.prunedEvents,
        erased_redactions: report.erasedRedactions,
        deleted_media: report.deletedMedia,
        deleted_files: report.deletedFiles,
        deleted_to_device: report.deletedToDevice,
      };
    });
  }
}

function prefixed(target: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(target).map(([k, v]) => [`target_${k}`, v]));
}
