/** caduceus backup create: an encrypted, consistent backup of a running (or stopped) server. */
import { resolve } from 'node:path';
import { expectPositionals, parseCommandArgs, printResult, type Command } from '../args.ts';
import { localActor } from '../local-actor.ts';
import { asCliError, describeContents, formatBytes, formatSeconds, KEY_HELP_CREATE, keyForCreate } from './backup-key.ts';

const stamp = (date: Date) => date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');

export const backupCreate: Command = {
  name: ['backup', 'create'],
  summary: 'Make an encrypted backup of the database, media and signing key',
  usage: 'backup create [--out FILE] [--passphrase-file FILE | --recipient AGE1KEY]',
  help: `Makes a consistent backup while the server runs: the database (SQLite through its online backup
API; PostgreSQL through pg_dump, which must be on PATH), the media store and the server's signing key,
with a manifest of row counts, sizes and SHA-256 checksums, all in one age-encrypted file. Prints the
file's name, then its size, checksum and contents. The backup is recorded in the audit trail
(admin.backup.create, with the file's checksum); if that entry cannot be written, the file is removed.

Options:
  --out FILE               where to write it (default: caduceus-backup-<server>-<time>.age here);
                           an existing file is never overwritten

${KEY_HELP_CREATE}

Example:
  CADUCEUS_BACKUP_PASSPHRASE="$(cat /etc/caduceus/backup-passphrase)" caduceus backup create --out /backups/caduceus.age`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      out: { type: 'string' },
      'passphrase-file': { type: 'string' },
      recipient: { type: 'string', multiple: true },
    });
    expectPositionals(positionals, []);
    const key = await keyForCreate(values, io);
    const server = await import('@caduceus/server');
    const config = server.loadConfig(io.env);
    const out = resolve(values.out ?? `caduceus-backup-${config.serverName.replace(/[^A-Za-z0-9.-]/g, '_')}-${stamp(new Date())}.age`);
    try {
      const made = await server.backup.createBackup(config, { out, key, actor: localActor() });
      printResult(io.stdout, made.path, [
        ['size', formatBytes(made.size)],
        ['sha256', made.sha256],
        ...describeContents(made.manifest),
        ['took', formatSeconds(made.elapsedMs)],
      ]);
      if (made.manifest.missingMedia.length > 0) {
        io.stderr.write(`warning: ${made.manifest.missingMedia.length} media files named in the database were not in the media store (${config.dataDir}/media); they are not in the backup\n`);
      }
    } catch (err) {
      throw asCliError(err, server);
    }
  },
};
