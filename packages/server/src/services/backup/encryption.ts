/**
 * Encryption of backups with age (https://age-encryption.org, the `age-encryption` library): either a
 * passphrase (scrypt) or one or more X25519 recipients (`age1…`), whose identity (`AGE-SECRET-KEY-1…`)
 * decrypts. age authenticates every 64 KiB chunk, so a changed byte anywhere is detected.
 * Files made here can also be decrypted with the `age` command-line tool.
 */
import { Decrypter, Encrypter } from 'age-encryption';

/** How a backup is locked (create) or unlocked (verify, restore). */
export type BackupKey = { passphrase: string } | { recipients: string[] } | { identities: string[] };

/** A failure the operator can act on; `kind` lets callers (and tests) tell them apart. */
export class BackupError extends Error {
  override name = 'BackupError';
  readonly kind: 'wrong-key' | 'damaged' | 'refused' | 'failed';
  constructor(kind: BackupError['kind'], message: string) {
    super(message);
    this.kind = kind;
  }
}

export const MIN_PASSPHRASE_LENGTH = 12;

export const wrongKey = () => new BackupError('wrong-key', 'wrong passphrase or key: this backup cannot be decrypted with it');
export const damaged = (why: string) => new BackupError('damaged', `the backup file is damaged or incomplete (${why}); it cannot be used`);

export function encrypter(key: BackupKey): Encrypter {
  const e = new Encrypter();
  if ('passphrase' in key) {
    if (key.passphrase.length < MIN_PASSPHRASE_LENGTH) {
      throw new BackupError('refused', `the backup passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`);
    }
    e.setPassphrase(key.passphrase);
  } else if ('recipients' in key) {
    if (key.recipients.length === 0) throw new BackupError('refused', 'no recipient to encrypt the backup for');
    for (const recipient of key.recipients) {
      try {
        e.addRecipient(recipient);
      } catch {
        throw new BackupError('refused', `"${recipient.slice(0, 80)}" is not an age recipient (age1…)`);
      }
    }
  } else {
    throw new BackupError('refused', 'a backup is encrypted to a passphrase or a recipient, not with an identity');
  }
  return e;
}

export function decrypter(key: BackupKey): Decrypter {
  const d = new Decrypter();
  if ('passphrase' in key) d.addPassphrase(key.passphrase);
  else if ('identities' in key) {
    if (key.identities.length === 0) throw new BackupError('refused', 'the identity file holds no age identity (AGE-SECRET-KEY-1…)');
    for (const identity of key.identities) {
      try {
        d.addIdentity(identity);
      } catch {
        throw new BackupError('refused', 'the identity file holds something that is not an age identity (AGE-SECRET-KEY-1…)');
      }
    }
  } else throw new BackupError('refused', 'a backup is decrypted with a passphrase or an identity (the secret key), not a recipient');
  return d;
}

/** The identities in an age identity file (as `age-keygen` writes it): one per line, # comments. */
export function parseIdentityFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** Turns what the age library or the tar parser threw into a BackupError that says what to do. */
export function explainReadError(err: unknown): BackupError {
  if (err instanceof BackupError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (message.includes('no identity matched')) return wrongKey();
  if (/invalid version|invalid header|invalid stanza/.test(message)) return damaged('it is not an age-encrypted Caduceus backup, or its header is damaged');
  if (message.includes('invalid header HMAC')) return damaged('its header was altered');
  return damaged(message === 'invalid tag' ? 'an encrypted chunk fails its authentication check' : message);
}
