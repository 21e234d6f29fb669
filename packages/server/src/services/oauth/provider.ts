/**
 * The oidc-provider instance behind Matrix's OAuth 2.0 API: authorization code with PKCE (S256,
 * required of every client), refresh tokens (rotated at each use), revocation and open dynamic
 * registration of public clients. Access tokens are opaque and issued for one resource, this
 * homeserver's Client-Server API, whose scopes are the Matrix ones (scopes.ts); each is adopted
 * as a token of the Matrix device its scope names (see index.ts), so the homeserver checks it as
 * it checks every other token.
 */
import Provider, { errors, interactionPolicy, type Adapter, type Configuration, type FindAccount, type KoaContextWithOIDC } from 'oidc-provider';
import type { OAuthKeys } from './keys.ts';
import { isMatrixScope } from './scopes.ts';
import { checkClientMetadata } from './clients.ts';

/** Where the provider is mounted; the issuer is the public URL followed by this. */
export const OAUTH_PREFIX = '/_caduceus/oauth2';
/** The server's own route that hands an authorization to the sign-in page. */
export const INTERACTION_PATH = `${OAUTH_PREFIX}/interaction`;

export interface ProviderOptions {
  issuer: string;
  /** The resource indicator of the Client-Server API. */
  matrixResource: string;
  keys: OAuthKeys;
  adapter: (model: string) => Adapter;
  findAccount: FindAccount;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  trustProxy: boolean;
}

/** The Matrix scopes of the request or of the code or refresh token it exchanges. */
function matrixScopesOf(ctx: KoaContextWithOIDC): string {
  const { params, entities } = ctx.oidc;
  const sources = [params?.scope, entities.AuthorizationCode?.scope, entities.RefreshToken?.scope];
  const scopes = new Set<string>();
  for (const source of sources) if (typeof source === 'string') for (const s of source.split(' ')) if (isMatrixScope(s)) scopes.add(s);
  return [...scopes].join(' ');
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function createProvider(o: ProviderOptions): Provider {
  // Every authorization passes the sign-in page (password and second factor), even when the
  // browser signed in moments ago: a new device always proves who is holding it.
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check('sign_in_each_time', 'Each authorization signs in on the sign-in page', (ctx) =>
      ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT,
    ),
  );

  const configuration: Configuration = {
    adapter: o.adapter,
    jwks: o.keys.jwks as Configuration['jwks'],
    cookies: {
      keys: o.keys.cookieKeys,
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    findAccount: o.findAccount,
    claims: { openid: ['sub'] },
    scopes: ['openid'],
    responseTypes: ['code'],
    clientAuthMethods: ['none'],
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'RS256',
    },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true, issueRegistrationAccessToken: false },
      // A client may revoke only its own tokens.
      revocation: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      rpInitiatedLogout: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => o.matrixResource,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => {
          if (resource !== o.matrixResource) throw new errors.InvalidTarget();
          return { scope: matrixScopesOf(ctx), accessTokenFormat: 'opaque', accessTokenTTL: o.accessTokenTtlSeconds };
        },
      },
    },
    extraClientMetadata: {
      // Listed to get a say over every registration: the validator sees the whole metadata.
      properties: ['client_uri'],
      validator: (_ctx, key, _value, metadata) => {
        if (key !== 'client_uri') return;
        const problem = checkClientMetadata(metadata as Record<string, unknown>);
        if (problem) throw new errors.InvalidClientMetadata(problem);
      },
    },
    interactions: {
      url: (_ctx, interaction) => `${INTERACTION_PATH}/${interaction.uid}`,
      policy,
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Tokens live by the Matrix session policy, not by the provider's short browser session.
    expiresWithSession: async () => false,
    rotateRefreshToken: true,
    // Revoking either token ends the whole OAuth session (and so the device).
    revokeGrantPolicy: () => true,
    ttl: {
      AccessToken: o.accessTokenTtlSeconds,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 15 * 60,
      Session: 10 * 60,
      Grant: o.refreshTokenTtlSeconds,
      RefreshToken: o.refreshTokenTtlSeconds,
    },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.set('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
      ctx.set('Cache-Control', 'no-store');
      const text = escapeHtml(String(out.error_description ?? out.error ?? 'The request could not be completed'));
      ctx.body = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Sign-in problem</title><h1>Sign-in problem</h1><p>${text}</p><p>Go back to your app and sign in again.</p></html>`;
    },
  };

  const provider = new Provider(o.issuer, configuration);
  provider.proxy = o.trustProxy;
  return provider;
}
