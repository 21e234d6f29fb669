/** caduceus backup restore: a backup back into an empty data folder (and empty database), then audit verify. */
import { resolve } from 'node:path';
import { CliError, expectPositionals, parseCommandArgs, printResult, type Command } from '../args.ts';
import { describeError } from '../admin.ts';
import { localActor } from '../local-actor.ts';
import { asCliError, describeContents, formatSeconds, KEY_HELP_READ, KEY_READ_OPTIONS, keyForReading } from './backup-key.ts';

export const backupRestore: Command = {
  name: ['backup', 'restore'],
  summary: 'Restore a backup into an empty data folder (and empty database)',
  usage: 'backup restore <file> [--passphrase-file FILE | --identity-file FILE]',
  help: `Restores a backup made by "caduceus backup create" into the configured data folder
(CADUCEUS_DATA_DIR), which must be empty or absent, and on PostgreSQL into the configured database
(CADUCEUS_DATABASE_URL), which must be empty (pg_restore must be on PATH). The server name and engine
must be those of the backup. The whole backup is decrypted and checked before anything is put in
place; a wrong key or a damaged file is refused and leaves the target empty. Then the audit trail's
hash chain and signed checkpoints are verified, and the restore is appended to the restored trail
(admin.backup.restore). Start the server on the same settings afterwards.

${KEY_HELP_READ}

Example:
  CADUCEUS_DATA_DIR=/srv/caduceus/data caduceus backup restore /backups/caduceus.age --passphrase-file key.txt`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, KEY_READ_OPTIONS);
    const [file] = expectPositionals(positionals, ['file']);
    const server = await import('@caduceus/server');
    const key = await keyForReading(values, io, server);
    const config = server.loadConfig(io.env);
    let restored;
    try {
      restored = await server.backup.restoreBackup(config, { file: resolve(file!), key });
    } catch (err) {
      throw asCliError(err, server);
    }
    let audit;
    try {
      audit = await server.backup.verifyRestoredAuditTrail(config, {
        actor: localActor(),
        details: { backup_created_at: restored.manifest.createdAt, backup_version: restored.manifest.version, engine: restored.manifest.engine },
      });
    } catch (err) {
      throw new CliError(`the backup was restored into ${config.dataDir}, but verifying its audit trail failed: ${describeError(err)}; run "caduceus audit verify" before starting the server`);
    }
    printResult(io.stdout, config.dataDir, [
      ...describeContents(restored.manifest),
      ['took', formatSeconds(restored.elapsedMs)],
      ['audit trail', audit.ok ? `verified (${audit.entries} entries, ${audit.checkpoints} signed checkpoints)` : `FAILED verification (${audit.problems.length} problems)`],
    ]);
    if (!audit.ok) {
      const shown = audit.problems.slice(0, 10).map((p) => `  ${p.message}\n`).join('');
      throw new CliError(`the restored audit trail does not verify; the data is restored but its history cannot be trusted:\n${shown}Run "caduceus audit verify" for the full report.`);
    }
  },
};
