/** Backup and restore (see docs/runbook-restore.md): the operations the `caduceus backup` commands run. */
export { createBackup, type CreatedBackup } from './create.ts';
export { readBackup, type ReadBackup } from './read.ts';
export { restoreBackup, checkRestoreTarget, type RestoredBackup } from './restore.ts';
export { verifyRestoredAuditTrail, recordBackupAction, type BackupActor } from './audit-check.ts';
export { BackupError, MIN_PASSPHRASE_LENGTH, parseIdentityFile, type BackupKey } from './encryption.ts';
export type { Manifest, FileEntry } from './manifest.ts';
