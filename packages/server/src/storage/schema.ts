/**
 * Table shapes as Kysely sees them. Both engines store the same types: text, integers (booleans as 0/1,
 * times as milliseconds since the epoch) and JSON as text, so one set of queries serves both.
 */
import type { Generated } from 'kysely';

export interface UsersTable {
  user_id: string;
  localpart: string;
  password_hash: string | null;
  is_admin: number;
  deactivated: number;
  displayname: string | null;
  avatar_url: string | null;
  created_ts: number;
}

export interface DevicesTable {
  user_id: string;
  device_id: string;
  display_name: string | null;
  created_ts: number;
  last_seen_ts: number | null;
  last_seen_ip: string | null;
  last_seen_user_agent: string | null;
  /** When the device's current sign-in began (the absolute session lifetime counts from it); null before migration 010. */
  session_started_ts: number | null;
}

export interface AccessTokensTable {
  /** SHA-256 of the token: a stolen database yields no usable token. */
  token_hash: string;
  user_id: string;
  device_id: string;
  created_ts: number;
  expires_ts: number | null;
}

export interface RefreshTokensTable {
  token_hash: string;
  user_id: string;
  device_id: string;
  created_ts: number;
  /** Set when exchanged; a second use of the same token means it leaked, and ends the session. */
  used_ts: number | null;
}

/** Tokens of sessions that were ended, so a wiped device learns it must erase its local data. */
export interface EndedTokensTable {
  token_hash: string;
  user_id: string;
  device_id: string;
  ended_ts: number;
  reason: string;
}

/** Each user's one server notices room. */
export interface ServerNoticeRoomsTable {
  user_id: string;
  room_id: string;
}

export interface UiaSessionsTable {
  session_id: string;
  /** What the session authorises (e.g. "register", "delete_devices"), so it cannot be reused for another act. */
  purpose: string;
  user_id: string | null;
  /** JSON array of completed stage types. */
  completed: string;
  /** JSON object of per-session facts (e.g. the validated registration token). */
  state: string;
  created_ts: number;
}

export interface RegistrationTokensTable {
  token: string;
  uses_allowed: number | null;
  completed: number;
  expiry_ts: number | null;
  created_ts: number;
  created_by: string | null;
}

export interface AccountDataTable {
  user_id: string;
  /** "" for global account data. */
  room_id: string;
  type: string;
  content: string;
  stream_id: number;
}

export interface FiltersTable {
  user_id: string;
  filter_id: string;
  /** SHA-256 of the canonical filter, so a client re-uploading the same filter gets the same id. */
  filter_hash: string;
  filter_json: string;
}

export interface PushRulesTable {
  user_id: string;
  /** JSON: the user's own rules and their changes to the default rules. */
  rules: string;
  stream_id: number;
}

export interface StreamCountersTable {
  name: string;
  value: number;
}

export interface ServerSettingsTable {
  name: string;
  value: string;
}

export interface RoomsTable {
  room_id: string;
  room_version: string;
  creator: string;
  created_ts: number;
  is_public: number;
  /** 1: an administrator blocked the room (no new joins, invites or sends). */
  blocked: Generated<number>;
}

export interface EventsTable {
  stream_ordering: number;
  event_id: string;
  room_id: string;
  type: string;
  state_key: string | null;
  sender: string;
  origin_server_ts: number;
  depth: number;
  json: string;
  unsigned: string;
  redacted_by: string | null;
  relates_to: string | null;
  rel_type: string | null;
  /** When the purge job removes the content (migration 016); null: kept. */
  expires_ts: number | null;
}

export interface CurrentStateTable {
  room_id: string;
  type: string;
  state_key: string;
  event_id: string;
  stream_ordering: number;
  membership: string | null;
}

export interface EventTxnsTable {
  user_id: string;
  device_id: string;
  txn_id: string;
  event_id: string;
  created_ts: number;
}

export interface RoomAliasesTable {
  alias: string;
  room_id: string;
  creator: string;
  created_ts: number;
}

export interface ReceiptsTable {
  room_id: string;
  receipt_type: string;
  user_id: string;
  thread_id: string;
  event_id: string;
  event_stream: number;
  ts: number;
  stream_id: number;
}

export interface TypingTable {
  room_id: string;
  user_id: string;
  expires_ts: number;
}

export interface TypingChangesTable {
  stream_id: number;
  room_id: string;
}

export interface RoomForgottenTable {
  user_id: string;
  room_id: string;
}

export interface E2eDeviceKeysTable {
  user_id: string;
  device_id: string;
  key_json: string;
  created_ts: number;
}

export interface E2eOneTimeKeysTable {
  user_id: string;
  device_id: string;
  algorithm: string;
  key_id: string;
  key_json: string;
}

export interface E2eFallbackKeysTable {
  user_id: string;
  device_id: string;
  algorithm: string;
  key_id: string;
  key_json: string;
  used: number;
}

export interface E2eCrossSigningKeysTable {
  user_id: string;
  key_type: string;
  key_json: string;
  created_ts: number;
}

export interface E2eSignaturesTable {
  target_user_id: string;
  target_key_id: string;
  signer_user_id: string;
  signer_key_id: string;
  signature: string;
}

export interface DeviceListChangesTable {
  stream_id: number;
  user_id: string;
}

export interface ToDeviceMessagesTable {
  user_id: string;
  device_id: string;
  stream_id: number;
  sender: string;
  type: string;
  content: string;
}

export interface ToDeviceTxnsTable {
  user_id: string;
  device_id: string;
  txn_id: string;
  created_ts: number;
}

export interface KeyBackupVersionsTable {
  user_id: string;
  version: number;
  algorithm: string;
  auth_data: string;
  etag: number;
  deleted: number;
  created_ts: number;
}

export interface KeyBackupSessionsTable {
  user_id: string;
  version: number;
  room_id: string;
  session_id: string;
  first_message_index: number;
  forwarded_count: number;
  is_verified: number;
  session_data: string;
}

export interface MediaTable {
  media_id: string;
  server_name: string;
  user_id: string;
  sha256: string | null;
  content_type: string | null;
  upload_name: string | null;
  size: number | null;
  created_ts: number;
  uploaded_ts: number | null;
  unused_expires_ts: number | null;
  room_id: string | null;
}

export interface MediaReferencesTable {
  media_id: string;
  room_id: string;
  event_id: string;
  created_ts: number;
}

export interface UserRolesTable {
  user_id: string;
  role: string;
}

export interface DepartmentsTable {
  department_id: string;
  name: string;
  description: string | null;
  /** The account that stands for the department (role `service`), if any. */
  functional_user_id: string | null;
  created_ts: number;
}

export interface DepartmentMembersTable {
  department_id: string;
  user_id: string;
}

export interface AuditLogTable {
  seq: number;
  ts: number;
  actor_user_id: string | null;
  actor_device_id: string | null;
  actor_address: string | null;
  actor_user_agent: string | null;
  action: string;
  outcome: string;
  /** JSON object of target ids. */
  target: string;
  request_id: string | null;
  /** JSON object of non-content facts. */
  details: string;
  prev_hash: string;
  hash: string;
}

export interface AuditCheckpointsTable {
  seq: number;
  ts: number;
  hash: string;
  key_id: string;
  signature: string;
}

export interface AuditChainLockTable {
  id: number;
}

/** One row per user with TOTP enrolled (migration 009). */
export interface MfaTotpTable {
  user_id: string;
  secret_encrypted: string;
  last_used_step: number | null;
  created_ts: number;
}

export interface MfaWebauthnCredentialsTable {
  credential_id: string;
  user_id: string;
  /** base64url of the COSE public key. */
  public_key: string;
  sign_count: number;
  transports: string;
  created_ts: number;
  last_used_ts: number | null;
}

export interface MfaRecoveryCodesTable {
  user_id: string;
  /** SHA-256 of the normalised code. */
  code_hash: string;
  created_ts: number;
  used_ts: number | null;
}

export interface LoginTokensTable {
  token_hash: string;
  user_id: string;
  created_ts: number;
  expires_ts: number;
}

export interface SignInFlowsTable {
  flow_hash: string;
  csrf_token: string;
  stage: string;
  user_id: string | null;
  completion: string;
  state: string;
  created_ts: number;
  expires_ts: number;
}

/** Legal holds (migration 016): a user or room exempt from purging until released. */
export interface LegalHoldsTable {
  hold_id: string;
  kind: string;
  target: string;
  reason: string;
  created_by: string;
  created_ts: number;
}

/** Redacted events whose leftovers are erased after the grace period (migration 016). */
export interface RedactionErasuresTable {
  event_id: string;
  room_id: string;
  sender: string;
  redacted_ts: number;
  original_json: string | null;
}

export interface RetentionStreamMarksTable {
  ts: number;
  stream_position: number;
}

export interface OauthRecordsTable {
  model: string;
  id_hash: string;
  payload: string;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  user_id: string | null;
  device_id: string | null;
  expires_ts: number | null;
  consumed_ts: number | null;
}

/** Which account an upstream identity provider's subject signs in as (migration 015). */
export interface UpstreamIdpLinksTable {
  issuer: string;
  subject: string;
  user_id: string;
  created_ts: number;
  last_login_ts: number | null;
}

export interface Database {
  users: UsersTable;
  devices: DevicesTable;
  access_tokens: AccessTokensTable;
  refresh_tokens: RefreshTokensTable;
  ended_tokens: EndedTokensTable;
  server_notice_rooms: ServerNoticeRoomsTable;
  uia_sessions: UiaSessionsTable;
  registration_tokens: RegistrationTokensTable;
  account_data: AccountDataTable;
  filters: FiltersTable;
  push_rules: PushRulesTable;
  stream_counters: StreamCountersTable;
  server_settings: ServerSettingsTable;
  rooms: RoomsTable;
  events: EventsTable;
  current_state: CurrentStateTable;
  event_txns: EventTxnsTable;
  room_aliases: RoomAliasesTable;
  receipts: ReceiptsTable;
  typing: TypingTable;
  typing_changes: TypingChangesTable;
  room_forgotten: RoomForgottenTable;
  to_device_messages: ToDeviceMessagesTable;
  to_device_txns: ToDeviceTxnsTable;
  e2e_device_keys: E2eDeviceKeysTable;
  e2e_one_time_keys: E2eOneTimeKeysTable;
  e2e_fallback_keys: E2eFallbackKeysTable;
  e2e_cross_signing_keys: E2eCrossSigningKeysTable;
  e2e_signatures: E2eSignaturesTable;
  device_list_changes: DeviceListChangesTable;
  key_backup_versions: KeyBackupVersionsTable;
  key_backup_sessions: KeyBackupSessionsTable;
  media: MediaTable;
  media_references: MediaReferencesTable;
  user_roles: UserRolesTable;
  mfa_totp: MfaTotpTable;
  mfa_webauthn_credentials: MfaWebauthnCredentialsTable;
  mfa_recovery_codes: MfaRecoveryCodesTable;
  login_tokens: LoginTokensTable;
  sign_in_flows: SignInFlowsTable;
  upstream_idp_links: UpstreamIdpLinksTable;
  oauth_records: OauthRecordsTable;
  departments: DepartmentsTable;
  department_members: DepartmentMembersTable;
  audit_log: AuditLogTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_chain_lock: AuditChainLockTable;
  legal_holds: LegalHoldsTable;
  redaction_erasures: RedactionErasuresTable;
  retention_stream_marks: RetentionStreamMarksTable;
}

export type { Generated };
