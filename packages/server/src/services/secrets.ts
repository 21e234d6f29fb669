/** Random secrets and how we store them. */
import { createHash, hash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** A bearer secret with a recognisable prefix (so secret scanners can find leaked ones). 256 bits of entropy. */
export function newToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** Tokens are stored as SHA-256 hashes: looking one up by hash needs no secret comparison at all. */
export function hashToken(token: string): string {
  // One-shot: every authenticated request hashes its token, and this skips the Hash object.
  return hash('sha256', token, 'base64url');
}

export function randomString(length: number, alphabet = ALPHANUMERIC): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** Device ids as Synapse and most clients expect them: ten upper-case letters. */
export const newDeviceId = () => randomString(10, UPPER);

/** Compares two secrets in time that does not depend on where they differ. */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
