/** Retention: room policies and message lifespans (policy.ts) and the purge that enforces them (purge.ts). */
export {
  RETENTION_EVENT_TYPE,
  EXPIRES_AT_KEY,
  checkRoomRetention,
  roomRetentionOf,
  effectiveMaxLifetime,
  expiryOf,
  retentionAuditDetails,
  describeMs,
  type RoomRetention,
} from './policy.ts';
export { RetentionPurger, BATCH_SIZE, RETENTION_MARKER, type PurgeReport, type PurgeDeps } from './purge.ts';
