/**
 * The audit trail as security officers and administrators read it: search by time, user, room and
 * action; export (JSON lines, CSV, FHIR R4); verify the hash chain and its signed checkpoints.
 */
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { MatrixError } from '@caduceus/core';
import { exportAuditTrail, verifyAuditTrail, type AuditTrail, type ExportFormat } from '../../compliance/audit/index.ts';
import { entryJson } from '../../compliance/audit/export.ts';
import type { SigningKey } from '../../crypto/signing-key.ts';
import type { AuditFilter as StoredAuditFilter, Storage } from '../../storage/index.ts';
import type { AdminAuditor, AdminCaller } from './access.ts';

/** The store's filter, limited to the outcomes entries have. */
export interface AuditFilter extends StoredAuditFilter {
  outcome?: 'success' | 'failure' | 'refused' | undefined;
}

const CONTENT_TYPES: Record<ExportFormat, string> = {
  jsonl: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  fhir: 'application/fhir+json; charset=utf-8',
};

export class AdminAuditService {
  readonly #storage: Storage;
  readonly #audit: AuditTrail;
  readonly #auditor: AdminAuditor;
  readonly #signingKey: SigningKey;
  readonly #serverName: string;

  constructor(deps: { storage: Storage; audit: AuditTrail; auditor: AdminAuditor; signingKey: SigningKey; serverName: string }) {
    this.#storage = deps.storage;
    this.#audit = deps.audit;
    this.#auditor = deps.auditor;
    this.#signingKey = deps.signingKey;
    this.#serverName = deps.serverName;
  }

  /** Matching entries in sequence order (filtered by indexed SQL); `from` is the sequence number to continue after. */
  async search(caller: AdminCaller, filter: AuditFilter, options: { from?: number | undefined; limit: number }) {
    const target = { ...(filter.userId ? { userId: filter.userId } : {}), ...(filter.roomId ? { roomId: filter.roomId } : {}) };
    return this.#auditor.run(caller, 'audit', 'search', target, async (record) => {
      // One row more than asked tells whether there is a next page.
      const rows = await this.#storage.audit.entries({ ...filter, afterSeq: options.from, limit: options.limit + 1 });
      const found = rows.slice(0, options.limit);
      await record({ count: found.length, action: filter.action ?? null, outcome: filter.outcome ?? null });
      return { entries: found.map(entryJson), ...(rows.length > options.limit ? { next_from: found[found.length - 1]!.seq } : {}) };
    });
  }

  /** Starts an export; the answer streams. The export is on record before the first entry leaves. */
  async export(caller: AdminCaller, format: ExportFormat, filter: AuditFilter): Promise<{ contentType: string; body: Readable }> {
    const target = { ...(filter.userId ? { userId: filter.userId } : {}), ...(filter.roomId ? { roomId: filter.roomId } : {}) };
    return this.#auditor.run(caller, 'audit', 'export', target, async () => {
      const body = new PassThrough();
      let started!: () => void;
      const firstChunk = new Promise<void>((resolve) => (started = resolve));
      const outcome = exportAuditTrail(
        this.#audit,
        this.#storage.audit,
        { format, ...filter, serverName: this.#serverName, actor: this.#auditor.actor(caller), via: 'admin-api' },
        (chunk) => {
          started();
          return body.write(chunk) ? undefined : once(body, 'drain');
        },
      );
      // A failure before anything was written (e.g. the export could not be recorded) is an error answer.
      await Promise.race([firstChunk, outcome]);
      outcome.then(
        () => body.end(),
        (err: unknown) => body.destroy(err instanceof Error ? err : new Error(String(err))),
      );
      return { contentType: CONTENT_TYPES[format], body };
    });
  }

  async verify(caller: AdminCaller) {
    return this.#auditor.run(caller, 'audit', 'verify', {}, async (record) => {
      const result = await this.status();
      await record({ ok: result.ok, entries: result.entries, problems: result.problems.length });
      return result;
    });
  }

  /** The chain check without an audit entry of its own (the compliance report records itself). */
  async status() {
    const result = await verifyAuditTrail(this.#storage.audit, { publicKeyBase64: this.#signingKey.publicKeyBase64, keyId: this.#signingKey.keyId, maxProblems: 100 });
    return {
      ok: result.ok,
      entries: result.entries,
      last_seq: result.lastSeq,
      checkpoints: result.checkpoints,
      last_verified_checkpoint: result.lastVerifiedCheckpoint ?? null,
      problems: result.problems,
    };
  }
}

export const parseTime = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new MatrixError('M_INVALID_PARAM', `${name} must be an ISO 8601 time or milliseconds since the epoch`);
  return ms;
};
