/**
 * What dynamic client registration accepts (spec "OAuth 2.0 API", client registration): public
 * clients only, a `client_uri` on https, and redirect URIs tied to it — a web client's on https
 * at that host or a subdomain, a native client's a private-use scheme in reverse-DNS form of that
 * host (`org.example.app:/callback` for `https://example.org`) or a loopback http address.
 * Registration is open to anyone, so sizes are bounded too.
 */

const MAX_REDIRECT_URIS = 10;
const MAX_URI_LENGTH = 2048;
const MAX_NAME_LENGTH = 255;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

function parse(uri: unknown): URL | undefined {
  if (typeof uri !== 'string' || uri.length > MAX_URI_LENGTH) return undefined;
  try {
    return new URL(uri);
  } catch {
    return undefined;
  }
}

const sameOrSubdomain = (host: string, base: string) => host === base || host.endsWith(`.${base}`);

function redirectProblem(uri: unknown, applicationType: string, clientHost: string): string | undefined {
  const url = parse(uri);
  if (!url) return 'redirect_uris must be absolute URIs';
  if (url.username || url.password) return 'redirect_uris must not carry a user or password';
  if (url.hash) return 'redirect_uris must not have a fragment';
  if (applicationType === 'web') {
    if (url.protocol !== 'https:' || !sameOrSubdomain(url.hostname, clientHost)) {
      return 'a web client\'s redirect_uris must use https on the host of client_uri (or a subdomain)';
    }
    return undefined;
  }
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return undefined;
  const scheme = url.protocol.slice(0, -1);
  if (url.protocol === 'https:' || url.protocol === 'http:' || !scheme.includes('.')) {
    return 'a native client\'s redirect_uris must be a private-use scheme (reverse-DNS of client_uri\'s host) or http on a loopback address';
  }
  const reversed = scheme.split('.').reverse().join('.');
  if (!sameOrSubdomain(reversed, clientHost)) return 'a native client\'s private-use scheme must be the reverse-DNS form of client_uri\'s host';
  return undefined;
}

/** Why the metadata is refused, or undefined when it is acceptable. */
export function checkClientMetadata(metadata: Record<string, unknown>): string | undefined {
  const clientUri = parse(metadata.client_uri);
  if (!clientUri) return 'client_uri is required and must be a URI';
  if (clientUri.protocol !== 'https:' || clientUri.username || clientUri.password) return 'client_uri must use https and carry no user or password';
  if (metadata.token_endpoint_auth_method !== undefined && metadata.token_endpoint_auth_method !== 'none') return 'only public clients (token_endpoint_auth_method none) may register';
  if (typeof metadata.client_name === 'string' && metadata.client_name.length > MAX_NAME_LENGTH) return 'client_name is too long';
  const redirectUris = metadata.redirect_uris;
  if (!Array.isArray(redirectUris) || redirectUris.length === 0) return 'redirect_uris is required';
  if (redirectUris.length > MAX_REDIRECT_URIS) return `at most ${MAX_REDIRECT_URIS} redirect_uris`;
  const applicationType = metadata.application_type === 'native' ? 'native' : 'web';
  for (const uri of redirectUris) {
    const problem = redirectProblem(uri, applicationType, clientUri.hostname);
    if (problem) return problem;
  }
  for (const key of ['logo_uri', 'policy_uri', 'tos_uri']) {
    if (metadata[key] !== undefined && !parse(metadata[key])) return `${key} must be a URI`;
  }
  return undefined;
}
