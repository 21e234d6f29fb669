/** caduceus audit verify: checks the audit trail's hash chain and signed checkpoints, offline. */
import { CliError, expectPositionals, parseCommandArgs, printResult, type Command } from '../args.ts';
import { openAuditDatabase } from './audit-open.ts';

export const auditVerify: Command = {
  name: ['audit', 'verify'],
  summary: 'Check that the audit trail was not altered (hash chain and signed checkpoints)',
  usage: 'audit verify',
  help: `Reads the audit trail straight from the configured database (the server need not run; point the
settings at a copy to check one) and checks every entry against the hash chain: an entry that was
modified, deleted, inserted or reordered is reported with its sequence number. Checkpoints are
checked against the server's signing key (signing.key in the data folder).

Exit status 0 when the trail is intact, 1 when anything is wrong (each problem is printed).

Example:
  CADUCEUS_DATA_DIR=/var/lib/caduceus caduceus audit verify`,
  async run(args, io) {
    const { positionals } = parseCommandArgs(args, {});
    expectPositionals(positionals, []);
    const { server, opened } = await openAuditDatabase(io);
    try {
      const key = opened.services.signingKey;
      const report = await server.audit.verifyAuditTrail(opened.storage.audit, { keyId: key.keyId, publicKeyBase64: key.publicKeyBase64 });
      const summary: [string, string][] = [
        ['entries', report.entries === 0 ? 'none' : `${report.entries} (last sequence number ${report.lastSeq})`],
        ['checkpoints', `${report.checkpoints}${report.lastVerifiedCheckpoint !== undefined ? ` (last good one at entry ${report.lastVerifiedCheckpoint}, signed by ${key.keyId})` : ''}`],
      ];
      if (report.ok) {
        printResult(io.stdout, 'ok: the audit trail is intact', summary);
        return;
      }
      printResult(io.stdout, 'FAILED: the audit trail has been altered', [...summary, ...report.problems.map((p): [string, string] => [`entry ${p.seq}`, p.message])]);
      throw new CliError(`audit trail verification failed: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}, the first at entry ${report.problems[0]!.seq}`);
    } finally {
      await opened.close();
    }
  },
};
