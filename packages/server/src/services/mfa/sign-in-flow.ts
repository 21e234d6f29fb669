/**
 * The sign-in page's flow: authenticate a person with their password and a second factor (enrolling
 * one first when the policy requires it and they have none), then hand over to the flow's completion
 * (Matrix SSO today, OIDC later), which says where the browser goes next.
 *
 * All state is server-side, in a record found by the hash of a random value the browser holds in a
 * cookie; every form carries the record's CSRF token. Wrong passwords and codes count toward the
 * same per-account and per-address throttle as `POST /login`, which locks an account out after
 * repeated failures.
 */
import { MatrixError } from '@caduceus/core';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { SignInCompletion, SignInFlowRecord, Storage } from '../../storage/index.ts';
import type { Clock } from '../clock.ts';
import type { LoginThrottle } from '../login-throttle.ts';
import { MAX_PASSWORD_LENGTH, verifyPassword } from '../passwords.ts';
import { hashToken, newToken, secretsEqual } from '../secrets.ts';
import type { AuthEvents, Factor } from './events.ts';
import type { MfaPolicy } from './policy.ts';
import type { RecoveryCodeService } from './recovery-codes.ts';
import type { TotpEnrollment, TotpService } from './totp.ts';
import type { WebAuthnService } from './webauthn.ts';

/** How long a person has to get through the page, enrolment included. */
export const FLOW_LIFETIME_MS = 15 * 60_000;

/** `account`: the person signed in to manage their own factors (services/mfa/factor-management.ts). */
export type Stage = 'password' | 'second_factor' | 'enroll' | 'recovery_codes' | 'account';

/** Finishes a flow: e.g. SSO issues a login token and returns to the client. */
export interface CompletionHandler {
  readonly kind: string;
  /** A CSP source for where the browser goes at the end (forms that finish the flow redirect there). */
  destination(completion: SignInCompletion): string;
  /** Where to send the browser once `userId` is authenticated. */
  complete(userId: string, completion: SignInCompletion): Promise<string>;
  /** The flow lives on as the account page instead of ending (its cookie stays). */
  readonly keepsFlow?: boolean;
  /** Under `mfa: optional`, a person without a second factor is offered one (skippable); false for re-authentication. */
  readonly offersEnrollment?: boolean;
}

export interface Flow {
  /** What the browser's cookie holds; only its hash is stored. */
  readonly cookie: string;
  readonly record: SignInFlowRecord;
}

/** What the page shows for the flow's current stage. */
export interface FlowView {
  stage: Stage;
  csrfToken: string;
  userId: string | null;
  destination: string;
  factors: { totp: boolean; webauthn: boolean; recoveryCodes: number };
  /** Only this user may sign in to this flow (re-authentication); the page shows the name. */
  forUser?: string;
  /** Enrolment is offered, not required: the page shows "skip". */
  enrollOptional?: boolean;
  /** What the person is confirming (re-authentication), for the page's heading. */
  purpose?: string;
  /** The upstream identity provider that replaces the password step ("Continue with ..."). */
  upstreamProvider?: string;
  webauthnRequest?: PublicKeyCredentialRequestOptionsJSON;
  webauthnCreation?: PublicKeyCredentialCreationOptionsJSON;
  totpEnrollment?: TotpEnrollment;
}

export type StepResult =
  | { kind: 'show'; view: FlowView; error?: string; status?: number }
  | { kind: 'recovery_codes'; view: FlowView; codes: string[] }
  | { kind: 'done'; location: string; keepCookie?: boolean };

export interface SignInFlowDeps {
  storage: Storage;
  clock: Clock;
  throttle: LoginThrottle;
  policy: MfaPolicy;
  totp: TotpService;
  webauthn: WebAuthnService;
  recoveryCodes: RecoveryCodeService;
  events: AuthEvents;
  /** What the person typed → a user id of this server (LoginService.resolveUserId). */
  resolveUserId: (typed: string) => string | undefined;
  /** Set when an upstream identity provider replaces local passwords: its name. */
  upstreamProvider?: string | undefined;
}

const wrongCredentials = 'Wrong user name or password.';
const wrongCode = 'That code is not right. Check it and try again.';

export class SignInFlows {
  readonly #d: SignInFlowDeps;
  readonly #completions = new Map<string, CompletionHandler>();

  constructor(deps: SignInFlowDeps) {
    this.#d = deps;
  }

  /** Registers how flows of one completion kind finish (SSO now; OIDC adds its own). */
  addCompletion(handler: CompletionHandler): void {
    this.#completions.set(handler.kind, handler);
  }

  /** Starts a flow; the caller sets the returned value as the sign-in cookie and sends the browser to the page. */
  async start(completion: SignInCompletion): Promise<string> {
    if (!this.#completions.has(completion.kind)) throw new Error(`no completion handler for ${completion.kind}`);
    const now = this.#d.clock.now();
    await this.#d.storage.signIn.deleteExpiredFlows(now);
    const cookie = newToken('cads');
    await this.#d.storage.signIn.createFlow({
      flowHash: hashToken(cookie),
      csrfToken: newToken('csrf'),
      stage: 'password',
      userId: null,
      completion,
      state: {},
      createdTs: now,
      expiresTs: now + FLOW_LIFETIME_MS,
    });
    return cookie;
  }

  /** The flow the cookie refers to, or undefined when there is none or it expired. */
  async load(cookie: string | undefined): Promise<Flow | undefined> {
    if (!cookie || cookie.length > 200) return undefined;
    const record = await this.#d.storage.signIn.getFlow(hashToken(cookie));
    if (!record || record.expiresTs <= this.#d.clock.now()) return undefined;
    return { cookie, record };
  }

  csrfMatches(flow: Flow, token: string | undefined): boolean {
    return typeof token === 'string' && secretsEqual(token, flow.record.csrfToken);
  }

  /** Abandons the flow (the person pressed "cancel" or it ended). */
  async discard(flow: Flow): Promise<void> {
    await this.#d.storage.signIn.deleteFlow(flow.record.flowHash);
  }

  /** Prepares what the current stage shows: a fresh WebAuthn challenge, a pending TOTP secret. */
  async view(flow: Flow): Promise<FlowView> {
    const { record } = flow;
    const stage = record.stage as Stage;
    const { storage, totp, webauthn, recoveryCodes } = this.#d;
    const userId = record.userId;
    const view: FlowView = {
      stage,
      csrfToken: record.csrfToken,
      userId,
      destination: this.#handler(record).destination(record.completion),
      factors: { totp: false, webauthn: false, recoveryCodes: 0 },
      ...(record.completion.userId ? { forUser: record.completion.userId } : {}),
      ...(record.completion.purpose ? { purpose: record.completion.purpose } : {}),
      ...(record.state.enrollOptional ? { enrollOptional: true } : {}),
      ...(this.#d.upstreamProvider ? { upstreamProvider: this.#d.upstreamProvider } : {}),
    };
    if (!userId) return view;
    view.factors = {
      totp: await totp.isEnrolled(storage, userId),
      webauthn: await webauthn.hasCredentials(storage, userId),
      recoveryCodes: await recoveryCodes.remaining(storage, userId),
    };
    const state = { ...record.state };
    if (stage === 'second_factor' && view.factors.webauthn) {
      view.webauthnRequest = await webauthn.authenticationOptions(storage, userId);
      state.challenge = view.webauthnRequest.challenge;
    }
    if (stage === 'enroll' || (stage === 'account' && !view.factors.totp)) {
      let secret = state.totpPending ? totp.open(userId, state.totpPending) : undefined;
      view.totpEnrollment = secret ? await totp.describe(userId, secret) : await totp.newEnrollment(userId);
      secret = view.totpEnrollment.secret;
      state.totpPending = totp.seal(userId, secret);
    }
    if (stage === 'enroll' || stage === 'account') {
      view.webauthnCreation = await webauthn.registrationOptions(storage, userId);
      state.challenge = view.webauthnCreation.challenge;
    }
    await this.#save(flow, stage, userId, state);
    return view;
  }

  async submitPassword(flow: Flow, typedUser: string, password: string, address: string): Promise<StepResult> {
    // With an upstream identity provider there are no local passwords on this page.
    if (flow.record.stage !== 'password' || this.#d.upstreamProvider) return this.#show(flow);
    const { storage, throttle, events } = this.#d;
    let userId = this.#d.resolveUserId(typedUser);
    // Re-authentication: only the account the flow is for may sign in (someone else's password is just wrong here).
    const forUser = flow.record.completion.userId;
    if (forUser && userId !== forUser) userId = undefined;
    const accountKey = userId ?? typedUser.toLowerCase();
    const throttled = await this.#throttled(flow, accountKey, address);
    if (throttled) return throttled;

    const user = userId ? await storage.users.get(userId) : undefined;
    const ok = password.length <= MAX_PASSWORD_LENGTH && (await verifyPassword(user?.passwordHash ?? null, password));
    if (!ok || !user) {
      await this.#failed(accountKey, address, user?.userId, 'password', 'wrong_password');
      return this.#show(flow, wrongCredentials, 401);
    }
    if (user.deactivated) {
      await events.login('refused', { userId: user.userId, address, method: 'sign_in_page', factor: 'password', reason: 'deactivated' });
      return this.#show(flow, 'This account has been deactivated.', 403);
    }
    throttle.recordSuccess(accountKey);
    return this.afterFirstFactor(flow, user.userId, address, 'password');
  }

  /**
   * The person proved who they are with the first factor (the password, or an upstream identity
   * provider): on to the second factor, enrolment, or the end.
   */
  async afterFirstFactor(flow: Flow, userId: string, address: string, factor: Factor, secondFactorWaived = false): Promise<StepResult> {
    const { storage } = this.#d;
    if (secondFactorWaived) return this.#complete(flow, userId, factor, address);
    const hasFactor = (await this.#d.totp.isEnrolled(storage, userId)) || (await this.#d.webauthn.hasCredentials(storage, userId));
    if (hasFactor) return this.#advance(flow, 'second_factor', userId);
    const { mfaRequired } = await this.#d.policy.forUser(storage, userId);
    if (mfaRequired) return this.#advance(flow, 'enroll', userId);
    if (this.#handler(flow.record).offersEnrollment !== false) {
      await this.#save(flow, 'enroll', userId, { enrollOptional: 'yes', firstFactor: factor });
      return this.#show(flow);
    }
    return this.#complete(flow, userId, factor, address);
  }

  /** `mfa: optional`: the person skips the offered enrolment and signs in with what they gave. */
  async skipEnrollment(flow: Flow, address: string): Promise<StepResult> {
    const userId = flow.record.userId;
    if (flow.record.stage !== 'enroll' || !userId || !flow.record.state.enrollOptional) return this.#show(flow);
    return this.#complete(flow, userId, (flow.record.state.firstFactor as Factor | undefined) ?? 'password', address);
  }

  async submitTotp(flow: Flow, code: string, address: string): Promise<StepResult> {
    return this.#secondFactor(flow, address, 'totp', async (userId) => {
      const outcome = await this.#d.totp.verifyForUser(this.#d.storage, userId, code);
      return outcome === 'ok' ? true : outcome === 'replayed' ? 'replayed_code' : 'wrong_code';
    });
  }

  async submitWebAuthn(flow: Flow, credentialJson: string, address: string): Promise<StepResult> {
    const challenge = flow.record.state.challenge;
    return this.#secondFactor(flow, address, 'webauthn', async (userId) =>
      challenge && (await this.#d.webauthn.authenticate(this.#d.storage, userId, credentialJson, challenge)) ? true : 'wrong_assertion',
    );
  }

  async submitRecoveryCode(flow: Flow, code: string, address: string): Promise<StepResult> {
    return this.#secondFactor(flow, address, 'recovery_code', async (userId) => {
      const used = await this.#d.recoveryCodes.use(this.#d.storage, userId, code);
      const remaining = await this.#d.recoveryCodes.remaining(this.#d.storage, userId);
      await this.#d.events.recoveryCode(used ? 'success' : 'failure', userId, address, remaining);
      return used ? true : 'wrong_recovery_code';
    });
  }

  /** Enrolment: the first code from the authenticator app confirms the pending secret. */
  async confirmTotp(flow: Flow, code: string, address: string): Promise<StepResult> {
    return this.#enroll(flow, address, 'totp', async (userId, stores) => {
      const pending = flow.record.state.totpPending;
      const secret = pending ? this.#d.totp.open(userId, pending) : undefined;
      const step = secret ? await this.#d.totp.matchingStep(secret, code) : undefined;
      if (!secret || step === undefined) return false;
      await this.#d.totp.enroll(stores, userId, secret, step);
      return true;
    });
  }

  /** Enrolment: a new passkey or security key, made by the page's script. */
  async registerWebAuthn(flow: Flow, credentialJson: string, address: string): Promise<StepResult> {
    const challenge = flow.record.state.challenge;
    return this.#enroll(flow, address, 'webauthn', async (userId, stores) =>
      challenge ? this.#d.webauthn.register(stores, userId, credentialJson, challenge) : false,
    );
  }

  /** After the recovery codes were shown: the person confirms they kept them, and the flow finishes. */
  async acknowledgeRecoveryCodes(flow: Flow, address: string): Promise<StepResult> {
    const userId = flow.record.userId;
    if (flow.record.stage !== 'recovery_codes' || !userId) return this.#show(flow);
    return this.#complete(flow, userId, (flow.record.state.enrolled as Factor | undefined) ?? 'totp', address);
  }

  async #secondFactor(flow: Flow, address: string, factor: Factor, check: (userId: string) => Promise<true | string>): Promise<StepResult> {
    const userId = flow.record.userId;
    if (flow.record.stage !== 'second_factor' || !userId) return this.#show(flow);
    const throttled = await this.#throttled(flow, userId, address);
    if (throttled) return throttled;
    const outcome = await check(userId);
    if (outcome !== true) {
      await this.#failed(userId, address, userId, factor, outcome);
      const message = outcome === 'replayed_code' ? 'That code was already used. Wait for the next one.' : factor === 'webauthn' ? 'The passkey or security key was not accepted.' : wrongCode;
      return this.#show(flow, message, 401);
    }
    this.#d.throttle.recordSuccess(userId);
    return this.#complete(flow, userId, factor, address);
  }

  async #enroll(flow: Flow, address: string, factor: 'totp' | 'webauthn', register: (userId: string, stores: Storage) => Promise<boolean>): Promise<StepResult> {
    const userId = flow.record.userId;
    if (flow.record.stage !== 'enroll' || !userId) return this.#show(flow);
    const throttled = await this.#throttled(flow, userId, address);
    if (throttled) return throttled;
    const { storage, events, recoveryCodes } = this.#d;
    if (!(await register(userId, storage))) {
      await this.#failed(userId, address, userId, factor, 'enrollment_failed');
      return this.#show(flow, factor === 'totp' ? wrongCode : 'The passkey or security key could not be registered.', 400);
    }
    this.#d.throttle.recordSuccess(userId);
    const codes = await storage.transaction(async (stores) => {
      await events.enrolled(userId, address, factor, stores);
      return recoveryCodes.issue(stores, userId);
    });
    await this.#save(flow, 'recovery_codes', userId, { enrolled: factor });
    return { kind: 'recovery_codes', view: await this.view(flow), codes };
  }

  /** Refuses the attempt while the account or address must wait (or is locked out). */
  async #throttled(flow: Flow, accountKey: string, address: string): Promise<StepResult | undefined> {
    try {
      this.#d.throttle.check(accountKey, address);
      return undefined;
    } catch (err) {
      if (!(err instanceof MatrixError) || err.errcode !== 'M_LIMIT_EXCEEDED') throw err;
      const minutes = Math.max(1, Math.ceil(Number(err.extra.retry_after_ms ?? 0) / 60_000));
      await this.#d.events.login('refused', { userId: flow.record.userId ?? undefined, address, method: 'sign_in_page', reason: 'throttled' });
      return this.#show(flow, `Too many failed attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`, 429);
    }
  }

  async #failed(accountKey: string, address: string, userId: string | undefined, factor: Factor, reason: string): Promise<void> {
    const lockedOut = this.#d.throttle.recordFailure(accountKey, address);
    await this.#d.events.login('failure', { userId, address, method: 'sign_in_page', factor, reason });
    if (lockedOut && userId) await this.#d.events.lockout({ userId, address });
  }

  async #advance(flow: Flow, stage: Stage, userId: string): Promise<StepResult> {
    await this.#save(flow, stage, userId, {});
    return this.#show(flow);
  }

  async #complete(flow: Flow, userId: string, factor: Factor, address: string): Promise<StepResult> {
    const handler = this.#handler(flow.record);
    const location = await handler.complete(userId, flow.record.completion);
    await this.#d.events.login('success', { userId, address, method: 'sign_in_page', factor });
    if (handler.keepsFlow) {
      await this.#save(flow, 'account', userId, {});
      return { kind: 'done', location, keepCookie: true };
    }
    await this.discard(flow);
    return { kind: 'done', location };
  }

  /** Saves a stage's facts (the account page keeps its pending enrolment here). */
  save(flow: Flow, stage: Stage, state: Record<string, string>): Promise<void> {
    return this.#save(flow, stage, flow.record.userId, state);
  }

  async #show(flow: Flow, error?: string, status?: number): Promise<StepResult> {
    return { kind: 'show', view: await this.view(flow), ...(error ? { error } : {}), ...(status ? { status } : {}) };
  }

  async #save(flow: Flow, stage: Stage, userId: string | null, state: Record<string, string>): Promise<void> {
    await this.#d.storage.signIn.updateFlow(flow.record.flowHash, { stage, userId, state });
    Object.assign(flow.record, { stage, userId, state });
  }

  #handler(record: SignInFlowRecord): CompletionHandler {
    const handler = this.#completions.get(record.completion.kind);
    if (!handler) throw new Error(`no completion handler for ${record.completion.kind}`);
    return handler;
  }
}
