/**
 * How the backup commands get their key without it showing in `ps` or shell history: a passphrase
 * from a file (--passphrase-file) or from CADUCEUS_BACKUP_PASSPHRASE, an age identity from a file
 * (--identity-file), or, to create, public recipients (--recipient age1…), which are not secret.
 */
import { readFile } from 'node:fs/promises';
import type { backup } from '@caduceus/server';
import { CliError, UsageError, type Io } from '../args.ts';

export const PASSPHRASE_ENV = 'CADUCEUS_BACKUP_PASSPHRASE';

export const KEY_HELP_CREATE = `Encryption (one of):
  --passphrase-file FILE   read the passphrase from FILE (its first line)
  --recipient AGE1KEY      encrypt to an age public key (repeatable); only the matching secret key
                           (an age identity file) can restore it
  CADUCEUS_BACKUP_PASSPHRASE   the passphrase, from the environment (used when no option is given)
The passphrase is never taken as an argument and never printed. It must have at least 12 characters;
use a long random one and keep it apart from the backups (see docs/runbook-restore.md).`;

export const KEY_HELP_READ = `Decryption (one of):
  --passphrase-file FILE   read the passphrase from FILE (its first line)
  --identity-file FILE     an age identity file (AGE-SECRET-KEY-1…, as age-keygen writes it)
  CADUCEUS_BACKUP_PASSPHRASE   the passphrase, from the environment (used when no option is given)`;

/** The options KEY_HELP_READ describes, for keyForReading. */
export const KEY_READ_OPTIONS = {
  'passphrase-file': { type: 'string' },
  'identity-file': { type: 'string' },
} as const;

async function readSecretFile(flag: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

async function passphraseFrom(values: { 'passphrase-file'?: string }, io: Io): Promise<string | undefined> {
  if (values['passphrase-file'] !== undefined) {
    const first = (await readSecretFile('--passphrase-file', values['passphrase-file'])).split(/\r?\n/)[0] ?? '';
    if (first === '') throw new CliError(`the passphrase file ${values['passphrase-file']} is empty`);
    return first;
  }
  const fromEnv = io.env[PASSPHRASE_ENV];
  return fromEnv ? fromEnv : undefined;
}

export async function keyForCreate(values: { 'passphrase-file'?: string; recipient?: string[] }, io: Io): Promise<backup.BackupKey> {
  const recipients = values.recipient ?? [];
  if (recipients.length > 0 && values['passphrase-file'] !== undefined) throw new UsageError('give --passphrase-file or --recipient, not both');
  if (recipients.length > 0) return { recipients };
  const passphrase = await passphraseFrom(values, io);
  if (passphrase === undefined) throw new UsageError(`the backup needs a key: --passphrase-file FILE, --recipient AGE1KEY, or ${PASSPHRASE_ENV} in the environment`);
  return { passphrase };
}

export async function keyForReading(values: { 'passphrase-file'?: string; 'identity-file'?: string }, io: Io, server: typeof import('@caduceus/server')): Promise<backup.BackupKey> {
  if (values['identity-file'] !== undefined && values['passphrase-file'] !== undefined) throw new UsageError('give --passphrase-file or --identity-file, not both');
  if (values['identity-file'] !== undefined) {
    return { identities: server.backup.parseIdentityFile(await readSecretFile('--identity-file', values['identity-file'])) };
  }
  const passphrase = await passphraseFrom(values, io);
  if (passphrase === undefined) throw new UsageError(`the backup's key is needed: --passphrase-file FILE, --identity-file FILE, or ${PASSPHRASE_ENV} in the environment`);
  return { passphrase };
}

/** A BackupError becomes the operator's message alone (exit 1); other errors pass through. */
export function asCliError(err: unknown, server: typeof import('@caduceus/server')): unknown {
  return err instanceof server.backup.BackupError ? new CliError(err.message) : err;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export const formatSeconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** One line on what the manifest holds. */
export function describeContents(manifest: backup.Manifest): [string, string][] {
  const rows = Object.values(manifest.database.tables).reduce((a, b) => a + b, 0);
  const media = manifest.files.filter((f) => f.path.startsWith('media/'));
  return [
    ['server', manifest.serverName],
    ['engine', manifest.engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'],
    ['made', `${manifest.createdAt} by Caduceus ${manifest.version}`],
    ['database', `${Object.keys(manifest.database.tables).length} tables, ${rows} rows, dump ${formatBytes(manifest.database.size)}`],
    ['media', `${media.length} files, ${formatBytes(media.reduce((a, f) => a + f.size, 0))}`],
  ];
}
