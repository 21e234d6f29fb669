/**
 * Matrix SSO (spec: "Client login via SSO"): `GET /login/sso/redirect?redirectUrl=` starts a sign-in
 * flow whose completion sends the browser back to the client with a `loginToken`. Only redirect URLs
 * on the allow-list are accepted, so nobody can make this server hand a token to their own site.
 */
import { MatrixError } from '@caduceus/core';
import type { SignInCompletion } from '../../storage/index.ts';
import type { LoginTokenService } from './login-tokens.ts';
import type { CompletionHandler } from './sign-in-flow.ts';

const UNSAFE_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:']);
const isWeb = (url: URL) => url.protocol === 'https:' || url.protocol === 'http:';

/**
 * Whether `redirectUrl` falls under one of the allow-list entries. An http(s) entry is an origin,
 * optionally with a path that must match whole segments (`https://app.example.org/element` allows
 * `/element` and `/element/...`, not `/elementary`); another scheme (a mobile app's) is a plain prefix.
 */
export function redirectAllowed(redirectUrl: string, allowlist: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(redirectUrl);
  } catch {
    return false;
  }
  if (UNSAFE_SCHEMES.has(url.protocol) || url.username || url.password) return false;
  for (const entry of allowlist) {
    let allowed: URL;
    try {
      allowed = new URL(entry);
    } catch {
      continue;
    }
    if (isWeb(allowed)) {
      if (!isWeb(url) || url.origin !== allowed.origin) continue;
      const path = allowed.pathname.replace(/\/+$/, '');
      if (path === '' || url.pathname === path || url.pathname.startsWith(`${path}/`)) return true;
    } else if (allowed.protocol === url.protocol && url.href.startsWith(allowed.href)) {
      return true;
    }
  }
  return false;
}

/** A CSP source naming where the flow will end up (forms that finish the flow redirect there). */
export function cspSourceOf(redirectUrl: string): string {
  const url = new URL(redirectUrl);
  return isWeb(url) ? url.origin : url.protocol;
}

export class SsoCompletion implements CompletionHandler {
  readonly kind = 'sso';
  readonly #loginTokens: LoginTokenService;
  readonly #allowlist: () => readonly string[];

  /** `allowlist` is read at each use: its default, the public URL, is known only once the server listens. */
  constructor(loginTokens: LoginTokenService, allowlist: () => readonly string[]) {
    this.#loginTokens = loginTokens;
    this.#allowlist = allowlist;
  }

  /** The completion for a new SSO flow, or M_INVALID_PARAM when the redirect URL is not allowed. */
  completionFor(redirectUrl: string): SignInCompletion {
    if (!redirectAllowed(redirectUrl, this.#allowlist())) {
      throw new MatrixError('M_INVALID_PARAM', 'redirectUrl is not one this server may send a login token to (see sso_redirect_allowlist)');
    }
    return { kind: this.kind, redirectUrl };
  }

  destination(completion: SignInCompletion): string {
    return cspSourceOf(completion.redirectUrl ?? '');
  }

  async complete(userId: string, completion: SignInCompletion): Promise<string> {
    const redirectUrl = completion.redirectUrl ?? '';
    // Checked again: the allow-list may have changed since the flow started.
    if (!redirectAllowed(redirectUrl, this.#allowlist())) throw new MatrixError('M_FORBIDDEN', 'This sign-in can no longer return to its app');
    const url = new URL(redirectUrl);
    url.searchParams.set('loginToken', await this.#loginTokens.issue(userId));
    return url.toString();
  }
}
