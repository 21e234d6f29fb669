/**
 * After a restore: the audit trail must still verify (hash chain and signed checkpoints), proving the
 * restored history is the one that was backed up. Opens the restored database the way the server
 * will (applying pending migrations), with the restored signing key.
 */
import { verifyAuditTrail, type AuditVerification } from '../../compliance/audit/index.ts';
import type { Config } from '../../config/config.ts';
import { loadOrCreateSigningKey } from '../../crypto/signing-key.ts';
import { migrate, openDatabase } from '../../storage/database.ts';
import { createStorage } from '../../storage/index.ts';

export async function verifyRestoredAuditTrail(config: Config): Promise<AuditVerification> {
  const key = loadOrCreateSigningKey(config.dataDir);
  const { db, engine, close } = openDatabase(config.database);
  const storage = createStorage(db, engine, close);
  try {
    await migrate(db);
    return await verifyAuditTrail(storage.audit, { publicKeyBase64: key.publicKeyBase64, keyId: key.keyId });
  } finally {
    await storage.close();
  }
}
