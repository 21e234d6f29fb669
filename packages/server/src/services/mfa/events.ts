/**
 * Every authentication event goes through here on its way to the audit trail: the sign-in page's attempts,
 * factor enrolment and removal (by the user; an administrator's reset is the admin API's, in
 * services/admin/second-factors.ts), recovery-code use and lockouts. Never codes, passwords or tokens.
 */
import type { AuditOutcome, AuditTrail } from '../../compliance/audit/index.ts';
import type { Stores } from '../../storage/index.ts';

export type SignInMethod = 'sign_in_page' | 'm.login.password' | 'm.login.token';
export type Factor = 'password' | 'totp' | 'webauthn' | 'recovery_code' | 'upstream_idp';

export interface LockoutNotice {
  userId: string;
  address: string;
}

export interface LoginAttempt {
  /** Only for accounts that exist: what a stranger typed is never written down (it may be a password). */
  userId?: string | undefined;
  address: string;
  method: SignInMethod;
  factor?: Factor;
  /** Short reason code: wrong_password, wrong_code, replayed_code, throttled, mfa_required, deactivated, ... */
  reason?: string;
}

export class AuthEvents {
  readonly #audit: AuditTrail;
  readonly #notifyLockout: ((notice: LockoutNotice) => Promise<void>) | undefined;

  /** `notifyLockout` tells the security officers; see `lockout()`. */
  constructor(audit: AuditTrail, notifyLockout?: (notice: LockoutNotice) => Promise<void>) {
    this.#audit = audit;
    this.#notifyLockout = notifyLockout;
  }

  async login(outcome: AuditOutcome, attempt: LoginAttempt, stores?: Stores): Promise<void> {
    await this.#audit.record(
      {
        action: 'auth.login',
        outcome,
        actor: { userId: attempt.userId ?? null, address: attempt.address },
        ...(attempt.userId ? { target: { userId: attempt.userId } } : {}),
        details: { method: attempt.method, factor: attempt.factor ?? null, reason: attempt.reason ?? null },
      },
      stores,
    );
  }

  async enrolled(userId: string, address: string, factor: 'totp' | 'webauthn', stores?: Stores): Promise<void> {
    await this.#audit.record({ action: 'auth.mfa.enroll', outcome: 'success', actor: { userId, address }, target: { userId }, details: { factor } }, stores);
  }

  async removed(userId: string, address: string, factor: 'totp' | 'webauthn', stores?: Stores): Promise<void> {
    await this.#audit.record({ action: 'auth.mfa.remove', outcome: 'success', actor: { userId, address }, target: { userId }, details: { factor, by: 'self' } }, stores);
  }

  async recoveryCodesRegenerated(userId: string, address: string, stores?: Stores): Promise<void> {
    await this.#audit.record({ action: 'auth.recovery_codes.regenerate', outcome: 'success', actor: { userId, address }, target: { userId } }, stores);
  }

  /** Re-authentication for a sensitive action (UIA) through the sign-in page or the upstream identity provider. */
  async reauth(outcome: AuditOutcome, userId: string, purpose: string, method: string, reason?: string): Promise<void> {
    await this.#audit.record({ action: 'auth.reauth', outcome, actor: { userId }, target: { userId }, details: { purpose, method, ...(reason ? { reason } : {}) } });
  }

  async recoveryCode(outcome: AuditOutcome, userId: string, address: string, remaining: number | null): Promise<void> {
    await this.#audit.record({ action: 'auth.recovery_code', outcome, actor: { userId, address }, target: { userId }, details: { remaining } });
  }

  /** An account just got locked out after too many failures: recorded, and the security officers told. */
  async lockout(notice: LockoutNotice): Promise<void> {
    await this.#audit.record({
      action: 'auth.lockout',
      outcome: 'success',
      actor: { address: notice.address },
      target: { userId: notice.userId },
      details: { reason: 'too_many_failures' },
    });
    // SECURITY OFFICER NOTICE — the single call site. services/index.ts passes `notifyLockout`;
    // until src/services/server-notices.ts lands it is not given and only the audit entry is written.
    await this.#notifyLockout?.(notice);
  }
}
