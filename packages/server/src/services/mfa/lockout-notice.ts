/**
 * Tells the security officers, by server notice, that an account was locked out after too many failed
 * sign-in attempts. Sent in the background: the person at the sign-in page (or the client calling
 * POST /login) gets their answer at once, and a notice that cannot be sent is logged and put on
 * record instead of failing the sign-in. The notice names the account, the time and the address,
 * never what was typed.
 */
import type { AuditTrail } from '../../compliance/audit/index.ts';
import type { Clock } from '../clock.ts';
import type { LockoutNotice } from './events.ts';

/** The part of ServerNoticesService this needs. */
export interface RoleNotices {
  sendToRole(role: 'security_officer', body: string, options?: { type?: string }): Promise<number>;
}

export interface Logger {
  error(details: object, message: string): void;
}

export const LOCKOUT_NOTICE_TYPE = 'org.caduceus.account_locked';

export class LockoutNotifier {
  readonly #notices: () => RoleNotices;
  readonly #audit: AuditTrail;
  readonly #clock: Clock;
  #log: Logger = { error: (details, message) => console.error(message, details) };
  /** Sends still under way (tests and shutdown can wait for them). */
  readonly #pending = new Set<Promise<void>>();

  /** `notices` is read at each use: the notices service is built after the sign-in services. */
  constructor(notices: () => RoleNotices, audit: AuditTrail, clock: Clock) {
    this.#notices = notices;
    this.#audit = audit;
    this.#clock = clock;
  }

  /** Where failures to send are logged (the HTTP app's logger, once it exists). */
  useLogger(log: Logger): void {
    this.#log = log;
  }

  /** Starts sending and returns at once. */
  notify(notice: LockoutNotice): Promise<void> {
    const sending = this.#send(notice).finally(() => this.#pending.delete(sending));
    this.#pending.add(sending);
    return Promise.resolve();
  }

  /** Waits for the notices still being sent. */
  async settled(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  async #send(notice: LockoutNotice): Promise<void> {
    const at = new Date(this.#clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const body =
      `Account locked: ${notice.userId} was locked out at ${at} (UTC) after too many failed sign-in attempts ` +
      `from address ${notice.address}. The lock lifts by itself; check the audit trail (auth.login, auth.lockout) ` +
      `and contact the user if the attempts were not theirs.`;
    try {
      const sent = await this.#notices().sendToRole('security_officer', body, { type: LOCKOUT_NOTICE_TYPE });
      if (sent === 0) await this.#recordFailure(notice, 'no_security_officer');
    } catch (err) {
      this.#log.error({ err, userId: notice.userId }, 'telling the security officers about a lockout failed');
      await this.#recordFailure(notice, 'send_failed').catch((auditErr: unknown) =>
        this.#log.error({ err: auditErr }, 'recording the failed lockout notice failed'),
      );
    }
  }

  #recordFailure(notice: LockoutNotice, reason: string): Promise<void> {
    return this.#audit.record({
      action: 'auth.lockout.notify',
      outcome: 'failure',
      actor: { address: notice.address },
      target: { userId: notice.userId },
      details: { reason },
    });
  }
}
