/**
 * Who may use which part of the admin API, and the record of a call. Pure decisions: the admin
 * prefix's hook asks before any input is read, and each admin service asks again, so no route can
 * reach an admin action without the check.
 */
import { MatrixError, type Role } from '@caduceus/core';
import type { AuditRecord, AuditTrail } from '../../compliance/audit/index.ts';
import type { Storage, Stores } from '../../storage/index.ts';

export const ADMIN_AREAS = ['users', 'devices', 'rooms', 'registration_tokens', 'policies', 'departments', 'audit', 'notices', 'report', 'retention'] as const;
export type AdminArea = (typeof ADMIN_AREAS)[number];

/** Security officers read the audit trail and the compliance report; everything else is for administrators. */
const OFFICER_AREAS: ReadonlySet<AdminArea> = new Set(['audit', 'report']);

export function mayUseAdminArea(roles: readonly Role[], area: AdminArea): boolean {
  if (roles.includes('admin')) return true;
  return roles.includes('security_officer') && OFFICER_AREAS.has(area);
}

/** The caller of an admin endpoint, as the hook established it. */
export interface AdminCaller {
  userId: string;
  deviceId: string;
  roles: readonly Role[];
  address: string;
  userAgent: string | null;
}

export function assertMayUse(caller: AdminCaller, area: AdminArea): void {
  if (!mayUseAdminArea(caller.roles, area)) throw new MatrixError('M_FORBIDDEN', 'You are not allowed to use this part of the admin API');
}

/** The audit action of an admin call: `admin.<area>.<verb>`. */
export const adminAction = (area: AdminArea, verb: string) => `admin.${area}.${verb}`;

type AuditDetails = NonNullable<AuditRecord['details']>;

/**
 * Runs an admin action and records it: success (with `details` from the result) or failure (with
 * the error code). The success entry is written in `work`'s transaction when it passes `stores`.
 */
export class AdminAuditor {
  readonly #audit: AuditTrail;
  constructor(audit: AuditTrail) {
    this.#audit = audit;
  }

  /**
   * A transaction for an admin action that records its success entry with `stores`, opened as the
   * trail requires (chain lock before any row) so it cannot deadlock with the stream writer.
   */
  transaction<T>(work: (stores: Stores) => Promise<T>): Promise<T> {
    return this.#audit.transaction(work);
  }

  actor(caller: AdminCaller) {
    return { userId: caller.userId, deviceId: caller.deviceId, address: caller.address, userAgent: caller.userAgent };
  }

  async run<T>(
    caller: AdminCaller,
    area: AdminArea,
    verb: string,
    target: Record<string, string>,
    work: (record: (details?: AuditDetails, stores?: Stores) => Promise<void>) => Promise<T>,
  ): Promise<T> {
    assertMayUse(caller, area);
    const action = adminAction(area, verb);
    let recorded = false;
    const record = async (details: AuditDetails = {}, stores?: Stores) => {
      await this.#audit.record({ action, outcome: 'success', actor: this.actor(caller), target, details }, stores);
      recorded = true;
    };
    try {
      const result = await work(record);
      if (!recorded) await record();
      return result;
    } catch (err) {
      // Also after a success entry: written in a transaction that rolled back, it is gone with it.
      const errcode = err instanceof MatrixError ? err.errcode : 'M_UNKNOWN';
      await this.#audit.record({ action, outcome: 'failure', actor: this.actor(caller), target, details: { errcode } }).catch(() => {});
      throw err;
    }
  }

  /** A call the hook refused (not signed in, or not allowed): recorded, then answered with `error`. */
  async refused(action: string, actor: Partial<AdminCaller> & { address: string }, errcode: string): Promise<void> {
    await this.#audit.record({
      action,
      outcome: 'refused',
      actor: { userId: actor.userId ?? null, deviceId: actor.deviceId ?? null, address: actor.address, userAgent: actor.userAgent ?? null },
      details: { errcode },
    });
  }
}

/** Lets callers into the admin API, or records why not. */
export class AdminGatekeeper {
  readonly #storage: Storage;
  readonly #auditor: AdminAuditor;
  constructor(storage: Storage, auditor: AdminAuditor) {
    this.#storage = storage;
    this.#auditor = auditor;
  }

  /** A signed-in user who may use `area`; otherwise the refusal is recorded and thrown as 403. */
  async admit(principal: { userId: string; deviceId: string }, area: AdminArea, verb: string, request: { address: string; userAgent: string | null }): Promise<AdminCaller> {
    const roles = await this.#storage.roles.rolesOf(principal.userId);
    const caller: AdminCaller = { ...principal, roles, ...request };
    if (!mayUseAdminArea(roles, area)) {
      await this.#auditor.refused(adminAction(area, verb), caller, 'M_FORBIDDEN');
      throw new MatrixError('M_FORBIDDEN', 'You are not allowed to use this part of the admin API');
    }
    return caller;
  }

  /** The roles a user holds (for GET /whoami, which any signed-in user may ask). */
  rolesOf(userId: string): Promise<Role[]> {
    return this.#storage.roles.rolesOf(userId);
  }

  /** A call without a valid access token. */
  async unauthenticated(area: AdminArea, verb: string, request: { address: string; userAgent: string | null }, errcode: string): Promise<void> {
    await this.#auditor.refused(adminAction(area, verb), request, errcode);
  }
}
