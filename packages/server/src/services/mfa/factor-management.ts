/**
 * Self-service second factors: the account page a person reaches after signing in afresh on the
 * sign-in page (password and second factor). From there they add an authenticator app or a passkey,
 * remove one — never the last when a second factor is required of them — and replace their recovery
 * codes (shown once). The page is the sign-in flow itself in its `account` stage, so it carries the
 * flow's cookie, CSRF token and lifetime: fifteen minutes from the sign-in, then sign in again.
 */
import type { SignInCompletion, Storage } from '../../storage/index.ts';
import type { LoginThrottle } from '../login-throttle.ts';
import type { AuthEvents } from './events.ts';
import type { MfaPolicy } from './policy.ts';
import type { RecoveryCodeService } from './recovery-codes.ts';
import type { CompletionHandler, Flow, FlowView, SignInFlows } from './sign-in-flow.ts';
import type { TotpService } from './totp.ts';
import type { WebAuthnService } from './webauthn.ts';

export interface PasskeyView {
  credentialId: string;
  createdTs: number;
  lastUsedTs: number | null;
}

export interface AccountView extends FlowView {
  passkeys: PasskeyView[];
  /** Removing a factor is allowed only when another stays, or none is required. */
  mfaRequired: boolean;
}

export type AccountResult = { view: AccountView; message?: string; error?: string; status?: number; codes?: string[] };

/** Ends a sign-in flow on the account page instead of returning to an app. */
export class AccountCompletion implements CompletionHandler {
  readonly kind = 'account';
  readonly keepsFlow = true;
  readonly offersEnrollment = false;
  readonly #accountPath: string;
  constructor(accountPath: string) {
    this.#accountPath = accountPath;
  }
  completionFor(): SignInCompletion {
    return { kind: this.kind };
  }
  destination(): string {
    return "'self'";
  }
  async complete(): Promise<string> {
    return this.#accountPath;
  }
}

export interface FactorManagementDeps {
  storage: Storage;
  flows: SignInFlows;
  policy: MfaPolicy;
  totp: TotpService;
  webauthn: WebAuthnService;
  recoveryCodes: RecoveryCodeService;
  events: AuthEvents;
  throttle: LoginThrottle;
}

export class FactorManagement {
  readonly #d: FactorManagementDeps;
  constructor(deps: FactorManagementDeps) {
    this.#d = deps;
  }

  /** The signed-in person of an account-page flow; undefined for any other flow. */
  userOf(flow: Flow): string | undefined {
    return flow.record.stage === 'account' && flow.record.completion.kind === 'account' ? (flow.record.userId ?? undefined) : undefined;
  }

  async view(flow: Flow, extra: Omit<AccountResult, 'view'> = {}): Promise<AccountResult> {
    const userId = this.#userOrThrow(flow);
    const base = await this.#d.flows.view(flow);
    const passkeys = (await this.#d.storage.mfa.listWebAuthnCredentials(userId)).map((c) => ({ credentialId: c.credentialId, createdTs: c.createdTs, lastUsedTs: c.lastUsedTs }));
    const { mfaRequired } = await this.#d.policy.forUser(this.#d.storage, userId);
    return { view: { ...base, passkeys, mfaRequired }, ...extra };
  }

  async addTotp(flow: Flow, code: string, address: string): Promise<AccountResult> {
    const userId = this.#userOrThrow(flow);
    const { totp, storage, throttle } = this.#d;
    if (await totp.isEnrolled(storage, userId)) return this.view(flow, { error: 'You already have an authenticator app. Remove it first to set up another.', status: 409 });
    throttle.check(userId, address);
    const pending = flow.record.state.totpPending;
    const secret = pending ? totp.open(userId, pending) : undefined;
    const step = secret ? await totp.matchingStep(secret, code) : undefined;
    if (!secret || step === undefined) {
      throttle.recordFailure(userId, address);
      await this.#d.events.login('failure', { userId, address, method: 'sign_in_page', factor: 'totp', reason: 'enrollment_failed' });
      return this.view(flow, { error: 'That code is not right. Check it and try again.', status: 400 });
    }
    await storage.transaction(async (stores) => {
      await totp.enroll(stores, userId, secret, step);
      await this.#d.events.enrolled(userId, address, 'totp', stores);
    });
    await this.#d.flows.save(flow, 'account', {});
    return this.#withFirstCodes(flow, userId, address, 'Authenticator app added.');
  }

  async addPasskey(flow: Flow, credentialJson: string, address: string): Promise<AccountResult> {
    const userId = this.#userOrThrow(flow);
    const challenge = flow.record.state.challenge;
    const registered = await this.#d.storage.transaction(async (stores) => {
      if (!challenge || !(await this.#d.webauthn.register(stores, userId, credentialJson, challenge))) return false;
      await this.#d.events.enrolled(userId, address, 'webauthn', stores);
      return true;
    });
    if (!registered) return this.view(flow, { error: 'The passkey or security key could not be registered.', status: 400 });
    return this.#withFirstCodes(flow, userId, address, 'Passkey added.');
  }

  /** Removes the authenticator app, or one passkey (`credentialId`). */
  async remove(flow: Flow, factor: 'totp' | 'webauthn', credentialId: string | undefined, address: string): Promise<AccountResult> {
    const userId = this.#userOrThrow(flow);
    const { storage, events } = this.#d;
    const outcome = await storage.transaction(async (stores) => {
      const hasTotp = (await stores.mfa.getTotp(userId)) !== undefined;
      const passkeys = await stores.mfa.listWebAuthnCredentials(userId);
      const remaining = (hasTotp ? 1 : 0) + passkeys.length - 1;
      const { mfaRequired } = await this.#d.policy.forUser(stores, userId);
      if (mfaRequired && remaining < 1) return 'last' as const;
      const removed = factor === 'totp' ? await stores.mfa.deleteTotp(userId) : credentialId !== undefined && (await stores.mfa.deleteWebAuthnCredential(userId, credentialId));
      if (!removed) return 'missing' as const;
      await events.removed(userId, address, factor, stores);
      // With no factor left the codes would be a way in on their own: they go too.
      if (remaining < 1) await stores.mfa.deleteRecoveryCodes(userId);
      return 'removed' as const;
    });
    if (outcome === 'last') return this.view(flow, { error: 'This is your only second factor, and your organisation requires one. Add another before removing it.', status: 409 });
    if (outcome === 'missing') return this.view(flow, { error: 'That second factor is not on your account.', status: 404 });
    return this.view(flow, { message: factor === 'totp' ? 'Authenticator app removed.' : 'Passkey removed.' });
  }

  async regenerateRecoveryCodes(flow: Flow, address: string): Promise<AccountResult> {
    const userId = this.#userOrThrow(flow);
    const { storage, totp, webauthn } = this.#d;
    if (!(await totp.isEnrolled(storage, userId)) && !(await webauthn.hasCredentials(storage, userId))) {
      return this.view(flow, { error: 'Set up a second factor first: recovery codes stand in for it.', status: 409 });
    }
    const codes = await storage.transaction(async (stores) => {
      const issued = await this.#d.recoveryCodes.issue(stores, userId);
      await this.#d.events.recoveryCodesRegenerated(userId, address, stores);
      return issued;
    });
    return this.view(flow, { message: 'New recovery codes made; the old ones no longer work.', codes });
  }

  /** The first factor of an account also gets recovery codes, shown once. */
  async #withFirstCodes(flow: Flow, userId: string, address: string, message: string): Promise<AccountResult> {
    if ((await this.#d.recoveryCodes.remaining(this.#d.storage, userId)) > 0) return this.view(flow, { message });
    const codes = await this.#d.storage.transaction(async (stores) => {
      const issued = await this.#d.recoveryCodes.issue(stores, userId);
      await this.#d.events.recoveryCodesRegenerated(userId, address, stores);
      return issued;
    });
    return this.view(flow, { message, codes });
  }

  #userOrThrow(flow: Flow): string {
    const userId = this.userOf(flow);
    if (!userId) throw new Error('not an account-page flow');
    return userId;
  }
}
