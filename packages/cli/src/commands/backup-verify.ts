/** caduceus backup verify: decrypts a backup and checks every checksum, without restoring it. */
import { resolve } from 'node:path';
import { expectPositionals, parseCommandArgs, printResult, type Command } from '../args.ts';
import { asCliError, describeContents, formatBytes, formatSeconds, KEY_HELP_READ, KEY_READ_OPTIONS, keyForReading } from './backup-key.ts';

export const backupVerify: Command = {
  name: ['backup', 'verify'],
  summary: 'Check a backup (key, manifest, every checksum) without restoring it',
  usage: 'backup verify <file> [--passphrase-file FILE | --identity-file FILE]',
  help: `Decrypts the backup and checks it: that the key opens it, that every encrypted chunk is intact,
and that the database dump and every file match the size and SHA-256 in its manifest. Nothing is
written. Exit status 0 means the backup is complete and restorable with this key.

${KEY_HELP_READ}

Example:
  caduceus backup verify /backups/caduceus.age --passphrase-file /etc/caduceus/backup-passphrase`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, KEY_READ_OPTIONS);
    const [file] = expectPositionals(positionals, ['file']);
    const server = await import('@caduceus/server');
    const key = await keyForReading(values, io, server);
    const started = performance.now();
    try {
      const checked = await server.backup.readBackup(resolve(file!), key);
      printResult(io.stdout, 'ok', [
        ['file', `${resolve(file!)} (${formatBytes(checked.size)})`],
        ...describeContents(checked.manifest),
        ['checked', `${checked.manifest.files.length + 1} checksums`],
        ['took', formatSeconds(performance.now() - started)],
      ]);
    } catch (err) {
      throw asCliError(err, server);
    }
  },
};
