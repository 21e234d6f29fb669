/** Builds the second-factor services and the sign-in flow. (Resetting a user's factors is the admin API's: services/admin/second-factors.ts.) */
import type { Config } from '../../config/config.ts';
import type { SigningKey } from '../../crypto/signing-key.ts';
import type { AuditTrail } from '../../compliance/audit/index.ts';
import type { Storage } from '../../storage/index.ts';
import type { Clock } from '../clock.ts';
import type { LoginThrottle } from '../login-throttle.ts';
import { AuthEvents, type LockoutNotice } from './events.ts';
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
}

export interface MfaDeps {
  config: Config;
  storage: Storage;
  clock: Clock;
  signingKey: SigningKey;
  audit: AuditTrail;
  throttle: LoginThrottle;
  resolveUserId: (typed: string) => string | undefined;
  /** Tells the security officers about a lockout (server notices); optional until that service exists. */
  notifyLockout?: (notice: LockoutNotice) => Promise<void>;
}

export function createMfaServices(d: MfaDeps): MfaServices {
  const { config, storage, clock } = d;
  const events = new AuthEvents(d.audit, d.notifyLockout);
  const totp = new TotpService(clock, new SecretBox(d.signingKey.privateKey, 'totp secrets'), `Caduceus (${config.serverName})`);
  const webauthn = new WebAuthnService(clock, () => {
    const url = new URL(config.publicUrl);
    return { id: url.hostname, origin: url.origin, name: `Caduceus (${config.serverName})` };
  });
  const recoveryCodes = new RecoveryCodeService(clock);
  const loginTokens = new LoginTokenService(storage, clock);
  const policy = new MfaPolicy(config, storage);
  const flows = new SignInFlows({ storage, clock, throttle: d.throttle, policy, totp, webauthn, recoveryCodes, events, resolveUserId: d.resolveUserId });
  const sso = new SsoCompletion(loginTokens, () => (config.ssoRedirectAllowlist.length > 0 ? config.ssoRedirectAllowlist : [config.publicUrl]));
  flows.addCompletion(sso);

  return {
    policy,
    events,
    totp,
    webauthn,
    recoveryCodes,
    loginTokens,
    flows,
    sso,
  };
}

export type { CompletionHandler, Flow, FlowView, StepResult } from './sign-in-flow.ts';
export type { LockoutNotice } from './events.ts';
