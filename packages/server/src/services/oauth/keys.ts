/**
 * The authorization server's keys, made once and kept in the data folder (`oauth-keys.json`, mode
 * 0600) beside `signing.key`: an RSA key that signs ID tokens (RS256, the algorithm every OpenID
 * client supports) and a secret that signs the provider's cookies. Never regenerated: a new key
 * would invalidate ID tokens clients hold and every sign-in under way. Written with `wx`, so
 * processes sharing the data folder agree on the first one written.
 */
import { generateKeyPairSync, randomBytes, type JsonWebKey } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomString } from '../secrets.ts';

export interface OAuthKeys {
  jwks: { keys: JsonWebKey[] };
  cookieKeys: string[];
}

const FILE = 'oauth-keys.json';

function read(path: string): OAuthKeys {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<OAuthKeys>;
  if (!Array.isArray(parsed.jwks?.keys) || parsed.jwks.keys.length === 0 || !Array.isArray(parsed.cookieKeys) || parsed.cookieKeys.length === 0) {
    throw new Error(`${path} is not an OAuth key file (jwks and cookieKeys expected)`);
  }
  return parsed as OAuthKeys;
}

export function loadOrCreateOAuthKeys(dataDir: string): OAuthKeys {
  const path = join(dataDir, FILE);
  try {
    return read(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `rs_${randomString(8)}`, use: 'sig', alg: 'RS256' };
  const keys: OAuthKeys = { jwks: { keys: [jwk] }, cookieKeys: [randomBytes(32).toString('base64url')] };
  try {
    writeFileSync(path, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
    return keys;
  } catch (err) {
    // Another process sharing the folder wrote it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return read(path);
    throw err;
  }
}
