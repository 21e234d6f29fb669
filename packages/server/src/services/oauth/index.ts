/**
 * Matrix's OAuth 2.0 API (spec "OAuth 2.0 API"; MSC2965 metadata, MSC2966 registration, MSC2967
 * scopes) on oidc-provider. Matrix sessions stay the source of truth: every access token the
 * provider issues is adopted as a token of the device its scope names, so session policy
 * (idle and absolute lifetime), remote wipe (soft_logout false), logout and deactivation apply to
 * it unchanged; ending a device's session revokes its grants, and revoking a grant (revocation,
 * a refresh token or code used twice) ends the device's session.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { type AdapterPayload, type FindAccount } from 'oidc-provider';
import type { Config } from '../../config/config.ts';
import type { AuditTrail } from '../../compliance/audit/index.ts';
import type { Storage } from '../../storage/index.ts';
import type { SessionService } from '../sessions.ts';
import type { SignInFlows } from '../mfa/sign-in-flow.ts';
import { createAdapterFactory } from './adapter.ts';
import { OidcCompletion } from './completion.ts';
import { loadOrCreateOAuthKeys } from './keys.ts';
import { createProvider, OAUTH_PREFIX } from './provider.ts';
import { deviceOfScope, parseMatrixScope, SCOPE_PROBLEMS } from './scopes.ts';

/** OAuth access tokens expire after this when `access_token_lifetime_ms` sets no lifetime. */
const DEFAULT_ACCESS_TOKEN_TTL_MS = 5 * 60_000;
const DEFAULT_REFRESH_TOKEN_TTL_MS = 30 * 24 * 3_600_000;

export interface OAuthDeps {
  config: Config;
  storage: Storage;
  sessions: SessionService;
  flows: SignInFlows;
  audit: AuditTrail;
}

/** What `GET /_matrix/client/v1/auth_metadata` answers (RFC 8414 fields the spec asks for). */
export type AuthMetadata = Record<string, string | string[]>;

export type InteractionStart = { kind: 'sign_in'; cookie: string } | { kind: 'redirect'; location: string };

export class OAuthService {
  readonly #d: OAuthDeps;
  readonly completion: OidcCompletion;
  #provider: Provider | undefined;
  #callback: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  /** Grants being revoked right now, so the concurrent per-model revocations end the device once. */
  readonly #revoking = new Map<string, Promise<void>>();

  constructor(deps: OAuthDeps) {
    this.#d = deps;
    this.completion = new OidcCompletion(() => this.provider, () => this.matrixResource);
    deps.flows.addCompletion(this.completion);
    deps.sessions.onSessionsEnded((userId, deviceIds) => this.#revokeGrantsOf(userId, deviceIds));
  }

  /** The public URL is final only once the server listens, so the provider is made at first use. */
  get issuer(): string {
    return `${this.#d.config.publicUrl}${OAUTH_PREFIX}`;
  }

  get matrixResource(): string {
    return `${this.#d.config.publicUrl}/_matrix/client/`;
  }

  get provider(): Provider {
    if (!this.#provider) {
      const { config, storage } = this.#d;
      this.#provider = createProvider({
        issuer: this.issuer,
        matrixResource: this.matrixResource,
        keys: loadOrCreateOAuthKeys(config.dataDir),
        adapter: createAdapterFactory(() => storage.oauth, {
          accessTokenIssued: (token, payload, ttl) => this.#adopt(token, payload, ttl),
          grantRevoked: (grantId, userId, deviceId) => this.#endSessionOfGrant(grantId, userId, deviceId),
        }),
        findAccount: this.#findAccount,
        accessTokenTtlSeconds: Math.ceil((config.accessTokenLifetimeMs ?? DEFAULT_ACCESS_TOKEN_TTL_MS) / 1000),
        refreshTokenTtlSeconds: Math.ceil((config.sessionPolicy.maxLifetimeMs ?? DEFAULT_REFRESH_TOKEN_TTL_MS) / 1000),
        trustProxy: config.trustProxy,
      });
      // The provider answers on its own, past the app's hooks: like the app's, its answers wait
      // until what it wrote is on disk.
      this.#provider.use(async (_ctx, next) => {
        await next();
        if (storage.commitsPending) await storage.durable();
      });
      this.#provider.on('registration_create.success', (_ctx, client) => {
        this.#d.audit
          .record({ action: 'oauth.client.register', outcome: 'success', target: { clientId: client.clientId }, details: { applicationType: client.applicationType ?? 'web' } })
          .catch(() => {});
      });
    }
    return this.#provider;
  }

  /** The provider as a Node request handler; `req.url` must still carry the prefix. */
  handle(req: IncomingMessage & { originalUrl?: string }, res: ServerResponse): void {
    this.#callback ??= this.provider.callback();
    // As a framework mounting it would: the provider sees paths below its prefix.
    req.originalUrl = req.url;
    req.url = req.url!.slice(OAUTH_PREFIX.length) || '/';
    this.#callback(req, res);
  }

  metadata(): AuthMetadata {
    const p = this.provider;
    return {
      issuer: this.issuer,
      authorization_endpoint: p.urlFor('authorization'),
      token_endpoint: p.urlFor('token'),
      registration_endpoint: p.urlFor('registration'),
      revocation_endpoint: p.urlFor('revocation'),
      jwks_uri: p.urlFor('jwks'),
      response_types_supported: ['code'],
      response_modes_supported: ['query', 'fragment'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none'],
      revocation_endpoint_auth_methods_supported: ['none'],
      scopes_supported: ['openid', 'urn:matrix:client:api:*', 'urn:matrix:client:device:*'],
      prompt_values_supported: ['login', 'consent', 'none'],
    };
  }

  /**
   * The provider asks for a sign-in: check the Matrix scopes, then start a sign-in page flow
   * that finishes this authorization. A bad scope goes back to the client as `invalid_scope`.
   */
  async startInteraction(req: IncomingMessage, res: ServerResponse): Promise<InteractionStart> {
    const provider = this.provider;
    const details = await provider.interactionDetails(req, res);
    const params = details.params as Record<string, string | undefined>;
    const parsed = parseMatrixScope(params.scope ?? '');
    if ('problem' in parsed) {
      const location = await provider.interactionResult(req, res, { error: 'invalid_scope', error_description: SCOPE_PROBLEMS[parsed.problem] });
      return { kind: 'redirect', location };
    }
    const cookie = await this.#d.flows.start(this.completion.completionFor(details.uid, params.redirect_uri ?? ''));
    return { kind: 'sign_in', cookie };
  }

  /** The provider's account lookup; for a refresh it also requires the device's session to be alive. */
  readonly #findAccount: FindAccount = async (_ctx, sub, token) => {
    const user = await this.#d.storage.users.get(sub);
    if (!user || user.deactivated) return undefined;
    if (token && (token.kind === 'RefreshToken' || token.kind === 'AccessToken')) {
      const deviceId = deviceOfScope((token as { scope?: string }).scope);
      if (!deviceId) return undefined;
      try {
        await this.#d.sessions.assertActive(sub, deviceId);
      } catch {
        return undefined;
      }
    }
    return { accountId: sub, claims: () => ({ sub }) };
  };

  /** An access token the provider issued becomes a token of the device its scope names. */
  async #adopt(token: string, payload: AdapterPayload, ttlSeconds: number): Promise<void> {
    const userId = payload.accountId;
    const deviceId = deviceOfScope(payload.scope);
    if (!userId || !deviceId) throw new Error('OAuth access token without a Matrix user and device');
    const refresh = (payload.gty ?? '').split(' ').includes('refresh_token');
    const ctx = Provider.ctx;
    const signIn = refresh ? undefined : { displayName: ctx?.oidc.client?.clientName ?? null };
    await this.#d.sessions.adoptAccessToken(userId, deviceId, token, ttlSeconds * 1000, signIn);
    if (signIn) {
      // A new sign-in on a device id that had an OAuth session before replaces that session.
      const others = (await this.#d.storage.oauth.grantIdsOfDevices(userId, [deviceId])).filter((g) => g !== payload.grantId);
      await this.#d.storage.oauth.deleteGrants(others);
      await this.#d.audit.record({
        action: 'auth.login',
        outcome: 'success',
        actor: { userId, deviceId },
        target: { userId, deviceId },
        details: { method: 'oauth', clientId: payload.clientId ?? null },
      });
    }
  }

  /** A grant was revoked: the device's Matrix session ends with it (once, however many models report it). */
  async #endSessionOfGrant(grantId: string, userId: string, deviceId: string): Promise<void> {
    const pending = this.#revoking.get(grantId);
    if (pending) return pending;
    const route = Provider.ctx?.oidc.route;
    const work = (async () => {
      if (!(await this.#d.storage.sessions.getDevice(userId, deviceId))) return;
      await this.#d.sessions.endDevices(userId, [deviceId], { reason: route === 'revocation' ? 'logout' : 'refresh_reuse' });
    })().finally(() => this.#revoking.delete(grantId));
    this.#revoking.set(grantId, work);
    return work;
  }

  /** Sessions ended (logout, wipe, deactivation, ...): their OAuth grants and tokens go too. */
  async #revokeGrantsOf(userId: string, deviceIds: readonly string[]): Promise<void> {
    const grants = await this.#d.storage.oauth.grantIdsOfDevices(userId, deviceIds);
    await this.#d.storage.oauth.deleteGrants(grants);
  }
}
