/** Builds the audit trail the services record into. */
import type { SigningKey } from '../../crypto/signing-key.ts';
import type { Clock } from '../../services/clock.ts';
import type { Storage } from '../../storage/index.ts';
import type { AuditTrail } from './audit-trail.ts';

export type { AuditTrail, AuditRecord, AuditActor, AuditOutcome } from './audit-trail.ts';

// TODO(audit helper): replace with the hash-chained store-backed trail.
export function createAuditTrail(_storage: Storage, _clock: Clock, _signingKey: SigningKey): AuditTrail {
  return { record: async () => {} };
}
