/**
 * Backups on the audit trail. After a restore the trail must still verify (hash chain and signed
 * checkpoints), proving the restored history is the one that was backed up; then the restore itself
 * is appended to it (`admin.backup.restore`), continuing the verified chain. Making a backup is
 * recorded in the live trail (`admin.backup.create`). Both open the database the way the server
 * does (applying pending migrations), with the data folder's signing key.
 */
import { createAuditTrail, verifyAuditTrail, type AuditActor, type AuditRecord, type AuditVerification } from '../../compliance/audit/index.ts';
import type { Config } from '../../config/config.ts';
import { loadOrCreateSigningKey } from '../../crypto/signing-key.ts';
import { migrate, openDatabase } from '../../storage/database.ts';
import { createStorage, type Storage } from '../../storage/index.ts';
import { systemClock } from '../clock.ts';

/** Who ran a backup command: the CLI has no signed-in user, so the operating-system account stands in. */
export type BackupActor = AuditActor;

async function withStorage<T>(config: Config, work: (storage: Storage) => Promise<T>): Promise<T> {
  const opened = openDatabase(config.database);
  const storage = createStorage(opened);
  try {
    await migrate(opened.db);
    return await work(storage);
  } finally {
    await storage.close();
  }
}

/** Appends one entry to the trail of the configured database; rejects when it cannot be written. */
export async function recordBackupAction(config: Config, entry: AuditRecord): Promise<void> {
  await withStorage(config, (storage) => createAuditTrail(storage, systemClock, loadOrCreateSigningKey(config.dataDir)).record(entry));
}

/**
 * Verifies the restored trail; when it verifies and `restore` is given, appends the restore's own
 * entry (so the restored server's history says when and by whom it was restored, and still verifies).
 */
export async function verifyRestoredAuditTrail(config: Config, restore?: { actor: BackupActor; details: NonNullable<AuditRecord['details']> }): Promise<AuditVerification> {
  const key = loadOrCreateSigningKey(config.dataDir);
  return withStorage(config, async (storage) => {
    const verification = await verifyAuditTrail(storage.audit, { publicKeyBase64: key.publicKeyBase64, keyId: key.keyId });
    if (verification.ok && restore) {
      await createAuditTrail(storage, systemClock, key).record({ action: 'admin.backup.restore', outcome: 'success', actor: restore.actor, details: restore.details });
    }
    return verification;
  });
}
