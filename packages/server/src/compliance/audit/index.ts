/** Builds the audit trail the services record into, and what the CLI and admin API use to check and export it. */
import type { SigningKey } from '../../crypto/signing-key.ts';
import type { Clock } from '../../services/clock.ts';
import type { Storage } from '../../storage/index.ts';
import type { AuditTrail } from './audit-trail.ts';
import { HashChainedAuditTrail, type RequestFacts } from './trail.ts';

export type { AuditTrail, AuditRecord, AuditActor, AuditOutcome, ReadPath, ReadTarget } from './audit-trail.ts';
export type { RequestFacts } from './trail.ts';
export { contentFacts } from './chain.ts';
export { verifyAuditTrail, type AuditVerification, type AuditProblem } from './verify.ts';
export { exportAuditTrail, EXPORT_FORMATS, type ExportFormat, type ExportRequest } from './export.ts';

/** `request` tells who the current request is (http/request-context); without one, actors are only what callers pass. */
export function createAuditTrail(storage: Storage, clock: Clock, signingKey: SigningKey, request: () => RequestFacts | undefined = () => undefined): AuditTrail {
  return new HashChainedAuditTrail(storage, clock, signingKey, request);
}
