/** Builds the second-factor services and the sign-in flow. (Resetting a user's factors is the admin API's: services/admin/second-factors.ts.) */
import type { Config } from '../../config/config.ts';
import type { SigningKey } from '../../crypto/signing-key.ts';
import type { AuditTrail } from '../../compliance/audit/index.ts';
import type { Storage } from '../../storage/index.ts';
import type { Clock } from '../clock.ts';
import type { LoginThrottle } from '../login-throttle.ts';
import { AuthEvents, type LockoutNotice } from './events.ts';
import { AccountCompletion, FactorManagement } from './factor-management.ts';
import { LockoutNotifier, type RoleNotices } from './lockout-notice.ts';
import { UiaSsoCompletion, type UiaSsoSessions } from './uia-sso.ts';
import { UpstreamIdpService } from '../upstream-idp/index.ts';
import { UpstreamSignIn } from '../upstream-idp/sign-in.ts';
import { LoginTokenService } from './login-tokens.ts';
import { MfaPolicy } from './policy.ts';
import { RecoveryCodeService } from './recovery-codes.ts';
import { SecretBox } from './secret-box.ts';
import { SignInFlows } from './sign-in-flow.ts';
import { SsoCompletion } from './sso.ts';
import { TotpService } from './totp.ts';
import { WebAuthnService } from './webauthn.ts';

export interface MfaServices {
  policy: MfaPolicy;
  events: AuthEvents;
  totp: TotpService;
  webauthn: WebAuthnService;
  recoveryCodes: RecoveryCodeService;
  loginTokens: LoginTokenService;
  flows: SignInFlows;
  sso: SsoCompletion;
  /** The account page: self-service second factors after a fresh sign-in. */
  account: AccountCompletion;
  factors: FactorManagement;
  /** The m.login.sso stage of user-interactive auth (set when `uiaSessions` was given). */
  uiaSso: UiaSsoCompletion | undefined;
  /** The organisation's own OpenID Connect provider in place of passwords (null when not configured). */
  upstream: UpstreamSignIn | null;
  /** Tells the security officers about lockouts (set when `notices` was given). */
  lockoutNotices: LockoutNotifier | undefined;
}

export interface MfaDeps {
  config: Config;
  storage: Storage;
  clock: Clock;
  signingKey: SigningKey;
  audit: AuditTrail;
  throttle: LoginThrottle;
  resolveUserId: (typed: string) => string | undefined;
  /** Server notices, read at each lockout (built after these services): the security officers are told. */
  notices?: () => RoleNotices;
  /** UIA sessions, for the m.login.sso stage's fallback page (built after these services). */
  uiaSessions?: () => UiaSsoSessions;
  /** Another way to hear of lockouts (used when `notices` is not given). */
  notifyLockout?: (notice: LockoutNotice) => Promise<void>;
}

/** Where the sign-in page's own completions send the browser (routes in api/sign-in). */
export const ACCOUNT_PAGE_PATH = '/_caduceus/sign-in/account';
export const UIA_DONE_PATH = '/_caduceus/sign-in/confirmed';

export function createMfaServices(d: MfaDeps): MfaServices {
  const { config, storage, clock } = d;
  const lockoutNotices = d.notices ? new LockoutNotifier(d.notices, d.audit, clock) : undefined;
  const events = new AuthEvents(d.audit, lockoutNotices ? (notice) => lockoutNotices.notify(notice) : d.notifyLockout);
  const totp = new TotpService(clock, new SecretBox(d.signingKey.privateKey, 'totp secrets'), `Caduceus (${config.serverName})`);
  const webauthn = new WebAuthnService(clock, () => {
    const url = new URL(config.publicUrl);
    return { id: url.hostname, origin: url.origin, name: `Caduceus (${config.serverName})` };
  });
  const recoveryCodes = new RecoveryCodeService(clock);
  const loginTokens = new LoginTokenService(storage, clock);
  const policy = new MfaPolicy(config, storage);
  const flows = new SignInFlows({
    storage,
    clock,
    throttle: d.throttle,
    policy,
    totp,
    webauthn,
    recoveryCodes,
    events,
    resolveUserId: d.resolveUserId,
    upstreamProvider: config.upstreamIdp?.name,
  });
  const sso = new SsoCompletion(loginTokens, () => (config.ssoRedirectAllowlist.length > 0 ? config.ssoRedirectAllowlist : [config.publicUrl]));
  flows.addCompletion(sso);
  const account = new AccountCompletion(ACCOUNT_PAGE_PATH);
  flows.addCompletion(account);
  const factors = new FactorManagement({ storage, flows, policy, totp, webauthn, recoveryCodes, events, throttle: d.throttle });
  const uiaSso = d.uiaSessions ? new UiaSsoCompletion(d.uiaSessions, events, UIA_DONE_PATH) : undefined;
  if (uiaSso) flows.addCompletion(uiaSso);

  return {
    policy,
    events,
    totp,
    webauthn,
    recoveryCodes,
    loginTokens,
    flows,
    sso,
    lockoutNotices,
    account,
    factors,
    uiaSso,
    upstream: config.upstreamIdp ? new UpstreamSignIn(new UpstreamIdpService(config.upstreamIdp, config, storage, clock, d.audit), flows, storage, events) : null,
  };
}

export type { CompletionHandler, Flow, FlowView, StepResult } from './sign-in-flow.ts';
export type { AccountResult, AccountView } from './factor-management.ts';
export type { LockoutNotice } from './events.ts';
