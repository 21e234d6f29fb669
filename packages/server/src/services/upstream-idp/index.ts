/**
 * An organisation's own OpenID Connect provider (Entra ID, Okta, Keycloak) in place of local
 * passwords: the sign-in page sends the person there (authorization code with PKCE, state and nonce,
 * through openid-client), and the ID token's claims say who they are. The provider's subject is
 * linked to one account here (upstream_idp_links); a first sign-in links an existing account of the
 * same name or, when allowed, provisions a new one. Whether this server's own second factor is still
 * asked afterwards is a setting (default: always).
 */
import * as oidc from 'openid-client';
import { isValidNewLocalpart, MatrixError, ROLES, userId as makeUserId, type Role } from '@caduceus/core';
import type { AuditTrail } from '../../compliance/audit/index.ts';
import type { Config, UpstreamIdpConfig } from '../../config/config.ts';
import type { Storage } from '../../storage/index.ts';
import type { Clock } from '../clock.ts';

/** The part of the flow's server-side state this keeps between the redirect and the callback. */
export interface PendingAuthorization {
  idpState: string;
  idpNonce: string;
  idpVerifier: string;
}

export interface UpstreamIdentity {
  userId: string;
  /** The provider asserted multi-factor authentication and the setting trusts it. */
  secondFactorDone: boolean;
}

export class UpstreamIdpService {
  readonly settings: UpstreamIdpConfig;
  readonly #config: Config;
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #audit: AuditTrail;
  #discovered: Promise<oidc.Configuration> | undefined;

  constructor(settings: UpstreamIdpConfig, config: Config, storage: Storage, clock: Clock, audit: AuditTrail) {
    this.settings = settings;
    this.#config = config;
    this.#storage = storage;
    this.#clock = clock;
    this.#audit = audit;
  }

  get redirectUri(): string {
    return `${this.#config.publicUrl}/_caduceus/sign-in/upstream/callback`;
  }

  /** The provider's metadata, fetched once (again after a failure). */
  #configuration(): Promise<oidc.Configuration> {
    const insecure = new URL(this.settings.issuer).protocol === 'http:';
    this.#discovered ??= oidc
      .discovery(new URL(this.settings.issuer), this.settings.clientId, undefined, oidc.ClientSecretBasic(this.settings.clientSecret), insecure ? { execute: [oidc.allowInsecureRequests] } : {})
      .catch((err: unknown) => {
        this.#discovered = undefined;
        throw err;
      });
    return this.#discovered;
  }

  /** Where to send the browser, and what the callback must find again. */
  async authorizationUrl(): Promise<{ url: string; pending: PendingAuthorization }> {
    const configuration = await this.#configuration();
    const pending = { idpState: oidc.randomState(), idpNonce: oidc.randomNonce(), idpVerifier: oidc.randomPKCECodeVerifier() };
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: this.redirectUri,
      scope: this.settings.scopes.join(' '),
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.idpVerifier),
      code_challenge_method: 'S256',
      state: pending.idpState,
      nonce: pending.idpNonce,
    });
    return { url: url.toString(), pending };
  }

  /**
   * Redeems the callback's code and maps the ID token to an account. Throws M_FORBIDDEN with a message
   * for the person when the provider said no, or the claims do not admit them here.
   */
  async finish(callbackUrl: URL, pending: PendingAuthorization, address: string): Promise<UpstreamIdentity> {
    const configuration = await this.#configuration();
    let claims: oidc.IDToken;
    try {
      const tokens = await oidc.authorizationCodeGrant(configuration, callbackUrl, {
        pkceCodeVerifier: pending.idpVerifier,
        expectedState: pending.idpState,
        expectedNonce: pending.idpNonce,
        idTokenExpected: true,
      });
      claims = tokens.claims()!;
    } catch (err) {
      await this.#refuse(undefined, address, err instanceof oidc.AuthorizationResponseError ? 'idp_refused' : 'idp_response_invalid');
      throw new MatrixError('M_FORBIDDEN', `${this.settings.name} did not confirm the sign-in. Try again.`);
    }
    const subject = claims.sub;
    const refuse = async (reason: string, message: string): Promise<never> => {
      await this.#refuse(subject, address, reason);
      throw new MatrixError('M_FORBIDDEN', message);
    };
    if (!this.#admitted(claims)) return refuse('not_allowed', 'Your organisation account may not sign in here. Ask your administrator.');

    const issuer = this.settings.issuer;
    let userId = await this.#storage.upstreamIdpLinks.userOf(issuer, subject);
    if (!userId) {
      const localpart = this.#localpartOf(claims);
      if (!localpart) return refuse('no_user_name', 'Your organisation account has no user name this server can use. Ask your administrator.');
      userId = makeUserId(localpart, this.#config.serverName);
      const existing = await this.#storage.users.get(userId);
      if (!existing) {
        if (!this.settings.provision) return refuse('no_account', 'There is no account for you on this server yet. Ask your administrator.');
        await this.#provision(userId, localpart, claims, subject);
      } else if (!(await this.#storage.upstreamIdpLinks.link(issuer, subject, userId, this.#clock.now()))) {
        // The account is already linked to another subject of this provider: never re-point it.
        return refuse('account_linked_elsewhere', 'This account is linked to another organisation identity. Ask your administrator.');
      } else {
        await this.#audit.record({ action: 'auth.upstream_idp.link', outcome: 'success', actor: { userId, address }, target: { userId }, details: { issuer } });
      }
    }
    await this.#storage.upstreamIdpLinks.touch(issuer, subject, this.#clock.now());
    return { userId, secondFactorDone: this.settings.secondFactor === 'trust_idp_mfa' && this.#assertsMfa(claims) };
  }

  #admitted(claims: oidc.IDToken): boolean {
    const { allowedEmailDomains, allowedGroups, claims: names } = this.settings;
    if (allowedEmailDomains.length > 0) {
      const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : '';
      const domain = email.slice(email.lastIndexOf('@') + 1);
      if (claims.email_verified !== true || !email.includes('@') || !allowedEmailDomains.includes(domain)) return false;
    }
    if (allowedGroups.length > 0) {
      const groups = claims[names.groups];
      if (!Array.isArray(groups) || !groups.some((g) => typeof g === 'string' && allowedGroups.includes(g))) return false;
    }
    return true;
  }

  #localpartOf(claims: oidc.IDToken): string | undefined {
    const raw = claims[this.settings.claims.localpart];
    if (typeof raw !== 'string') return undefined;
    const localpart = (raw.includes('@') ? raw.slice(0, raw.indexOf('@')) : raw).toLowerCase();
    return isValidNewLocalpart(localpart) ? localpart : undefined;
  }

  #assertsMfa(claims: oidc.IDToken): boolean {
    const amr = Array.isArray(claims.amr) ? claims.amr.filter((v): v is string => typeof v === 'string') : [];
    // RFC 8176: "mfa" says so outright; two different methods (e.g. pwd and otp) are two factors.
    if (amr.includes('mfa') || new Set(amr).size >= 2) return true;
    return typeof claims.acr === 'string' && this.settings.mfaAcrValues.includes(claims.acr);
  }

  async #provision(userId: string, localpart: string, claims: oidc.IDToken, subject: string): Promise<void> {
    const displayname = claims[this.settings.claims.displayname];
    const rolesClaim = this.settings.claims.roles ? claims[this.settings.claims.roles] : undefined;
    const roles = Array.isArray(rolesClaim) ? rolesClaim.filter((r): r is Role => typeof r === 'string' && (ROLES as readonly string[]).includes(r)) : [];
    await this.#audit.transaction(async (stores) => {
      // No password: this account signs in only through the provider.
      const created = await stores.users.create({
        userId,
        localpart,
        passwordHash: null,
        isAdmin: roles.includes('admin'),
        displayname: typeof displayname === 'string' && displayname.length > 0 ? displayname.slice(0, 256) : localpart,
        createdTs: this.#clock.now(),
      });
      if (!created) throw new MatrixError('M_USER_IN_USE', 'That user name is taken');
      if (roles.length > 0) await stores.roles.setRoles(userId, roles);
      if (!(await stores.upstreamIdpLinks.link(this.settings.issuer, subject, userId, this.#clock.now()))) throw new MatrixError('M_FORBIDDEN', 'This identity is already linked');
      await this.#audit.record({ action: 'account.create', outcome: 'success', target: { userId }, details: { via: 'upstream_idp', roles: roles.sort().join(' ') } }, stores);
    });
  }

  async #refuse(subject: string | undefined, address: string, reason: string): Promise<void> {
    // The subject is the provider's opaque id, not a name someone typed: safe to keep.
    await this.#audit.record({
      action: 'auth.login',
      outcome: 'refused',
      actor: { address },
      details: { method: 'upstream_idp', reason, subject: subject ?? null },
    });
  }
}
