/**
 * Encrypts small secrets the server must read back (TOTP seeds) with AES-256-GCM under a key derived
 * from the server's signing key file, so a copy of the database alone reveals no seed. The owner's
 * user id is bound in as associated data: a ciphertext moved to another user's row fails to open.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';

const VERSION = 'v1';

export class SecretBox {
  readonly #key: Buffer;

  constructor(serverPrivateKey: KeyObject, purpose: string) {
    const seed = serverPrivateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
    this.#key = Buffer.from(hkdfSync('sha256', seed, Buffer.alloc(0), `caduceus ${purpose} ${VERSION}`, 32));
  }

  seal(plaintext: string, owner: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv).setAAD(Buffer.from(owner, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv, body, cipher.getAuthTag()].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
  }

  /** The plaintext, or undefined when the value was not sealed by this server for this owner. */
  open(sealed: string, owner: string): string | undefined {
    const [version, iv, body, tag] = sealed.split('.');
    if (version !== VERSION || !iv || body === undefined || !tag) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url')).setAAD(Buffer.from(owner, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
