/**
 * Typed configuration: an optional YAML/JSON file plus CADUCEUS_* environment variables
 * (environment wins), validated once at start-up with one clear message per bad value.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Type, type Static } from 'typebox';
import Value from 'typebox/value';
import { parse as parseYaml } from 'yaml';
import { isValidServerName } from '@caduceus/core';

/** "30m", "12h", "7d", "1h30m", or a bare number of minutes; "0" turns the limit off. */
const DURATION_PATTERN = '^(\\d{1,9}|(\\d{1,9}[smhdw])+)$';
const DURATION_UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A duration setting in milliseconds; null when it is 0 (no limit). */
export function parseDurationSetting(value: string): number | null {
  const ms = /^\d+$/.test(value)
    ? Number(value) * 60_000
    : [...value.matchAll(/(\d+)([smhdw])/g)].reduce((sum, [, amount, unit]) => sum + Number(amount) * DURATION_UNIT_MS[unit!]!, 0);
  return ms > 0 ? ms : null;
}

const Settings = Type.Object(
  {
    server_name: Type.String({ minLength: 1, description: 'The Matrix server name: the part after ":" in user ids. Cannot change once users exist.' }),
    public_url: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', description: 'Where clients reach this server (advertised in /.well-known/matrix/client). Default: http://<bind>:<port>.' })),
    bind: Type.String({ minLength: 1, description: 'Address to listen on.' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, description: 'Port to listen on (0 picks a free one).' }),
    workers: Type.Integer({ minimum: 1, maximum: 64, description: 'Threads that serve HTTP on the port, each with its own database connection; more use more cores (e.g. the number of cores, with PostgreSQL or SQLite). 1: a single thread.' }),
    gc_semi_space_mb: Type.Integer({ minimum: 0, maximum: 1024, description: 'Size in MiB of each JavaScript thread\'s young-generation semi-space (V8\'s --max-semi-space-size; it grows to this only under load): larger means far fewer garbage-collection pauses of the same length, at the cost of memory. 0: Node\'s default (64 here).' }),
    data_dir: Type.String({ minLength: 1, description: 'Folder for the embedded database, the signing key and (later) media.' }),
    database_url: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', description: 'A postgres:// URL selects PostgreSQL instead of the embedded SQLite database.' })),
    registration: Type.Enum(['closed', 'token', 'open'], { description: 'closed: only administrators create accounts; token: registration tokens; open: anyone (development only).' }),
    rate_limits: Type.Enum(['on', 'off'], { description: 'Rate limits on login, registration and sends.' }),
    log_level: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { description: 'Log verbosity.' }),
    access_token_lifetime_ms: Type.Integer({ minimum: 0, description: 'Lifetime of access tokens issued with a refresh token; 0 = they do not expire.' }),
    max_json_body_bytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, description: 'Largest accepted JSON request body.' }),
    room_encryption: Type.Enum(['optional', 'required'], { description: 'required: every new room must be end-to-end encrypted, and plaintext messages in encrypted rooms are refused.' }),
    max_upload_bytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024 * 1024, description: 'Largest accepted media upload.' }),
    password_min_length: Type.Integer({ minimum: 8, maximum: 256, description: 'Shortest accepted password.' }),
    password_require_digit: Type.Boolean({ description: 'Passwords must contain a digit.' }),
    password_require_symbol: Type.Boolean({ description: 'Passwords must contain a symbol.' }),
    password_require_mixed_case: Type.Boolean({ description: 'Passwords must contain upper- and lower-case letters.' }),
    trust_proxy: Type.Boolean({ description: 'Take the client address from X-Forwarded-For (only behind a reverse proxy you control).' }),
    contact_policy: Type.Enum(['roles', 'off'], { description: 'roles: the organisation roles decide who may invite, message and find whom (patients are invited only by the care team, never reach other patients, and see only people they share a room with); off: no role rules (each user\'s own permissionConfig still applies).' }),
    unassigned_role: Type.Enum(['staff', 'patient'], { description: 'The role the contact policy counts for accounts that hold none (e.g. self-registered accounts). staff keeps a deployment without roles working like a plain Matrix server; patient suits a patient portal with open or token registration.' }),
    mfa: Type.Enum(['required', 'optional'], { description: 'required: every account signs in with a second factor (TOTP, passkey) through the sign-in page; optional: only administrators and security officers must. Service accounts may always use a password.' }),
    sso_redirect_allowlist: Type.Array(Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9+.-]*:[^\\s]+$' }), { description: 'Where single sign-on may return a login token: URL prefixes or origins, comma-separated in the environment. Empty: only this server\'s public URL.' }),
    upstream_idp_issuer: Type.String({ pattern: '^(https?://[^\\s]+)?$', description: 'An organisation\'s own OpenID Connect provider (Entra ID, Okta, Keycloak) that replaces local passwords on the sign-in page: its issuer URL (https; http only for localhost). Empty: local passwords.' }),
    upstream_idp_name: Type.String({ minLength: 1, maxLength: 100, description: 'The provider\'s name on the sign-in page ("Continue with <name>").' }),
    upstream_idp_client_id: Type.String({ maxLength: 1024, description: 'This server\'s client id at the provider (redirect URI: <public_url>/_caduceus/sign-in/upstream/callback). The secret comes from CADUCEUS_UPSTREAM_IDP_CLIENT_SECRET or upstream_idp_client_secret_file, never this file.' }),
    upstream_idp_client_secret_file: Type.String({ maxLength: 4096, description: 'A file holding the client secret (e.g. a mounted secret); CADUCEUS_UPSTREAM_IDP_CLIENT_SECRET wins over it.' }),
    upstream_idp_scopes: Type.Array(Type.String({ pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$' }), { description: 'Scopes asked of the provider; must include openid.' }),
    upstream_idp_localpart_claim: Type.String({ minLength: 1, maxLength: 100, description: 'The claim that names the Matrix user (localpart); the part before "@" when it holds an e-mail address. Must be one the provider controls, not one users edit.' }),
    upstream_idp_displayname_claim: Type.String({ minLength: 1, maxLength: 100, description: 'The claim with the display name of a provisioned account.' }),
    upstream_idp_roles_claim: Type.String({ maxLength: 100, description: 'A claim listing organisation roles (admin, security_officer, clinician, ...) given to a provisioned account; empty: none.' }),
    upstream_idp_groups_claim: Type.String({ minLength: 1, maxLength: 100, description: 'The claim listing the person\'s groups, for upstream_idp_allowed_groups.' }),
    upstream_idp_allowed_groups: Type.Array(Type.String({ minLength: 1 }), { description: 'Only members of one of these groups may sign in; empty: any.' }),
    upstream_idp_allowed_email_domains: Type.Array(Type.String({ minLength: 1 }), { description: 'Only people whose verified e-mail address is in one of these domains may sign in; empty: any.' }),
    upstream_idp_provision: Type.Boolean({ description: 'Create an account at the first sign-in of a person the provider knows and this server does not; off: only existing accounts (linked by name at their first sign-in).' }),
    upstream_idp_second_factor: Type.Enum(['always', 'trust_idp_mfa'], { description: 'always: this server still asks for its own second factor after the provider; trust_idp_mfa: not when the provider asserts multi-factor authentication (amr "mfa", two amr methods, or an acr in upstream_idp_mfa_acr_values).' }),
    upstream_idp_mfa_acr_values: Type.Array(Type.String({ minLength: 1 }), { description: 'acr values that mean multi-factor authentication at the provider (for trust_idp_mfa).' }),
    session_idle_timeout: Type.String({ pattern: DURATION_PATTERN, description: 'A session with no request from its device for this long is logged out (soft logout); e.g. 30m; a bare number means minutes; 0 = never.' }),
    session_max_lifetime: Type.String({ pattern: DURATION_PATTERN, description: 'A session ends this long after sign-in whatever its activity (soft logout); e.g. 12h; a bare number means minutes; 0 = never.' }),
    retention_default_max_lifetime: Type.String({ pattern: DURATION_PATTERN, description: 'How long messages are kept in rooms without an m.room.retention policy (e.g. 90d); 0 = kept until deleted.' }),
    retention_min_allowed: Type.String({ pattern: DURATION_PATTERN, description: 'The shortest lifetime a room policy or a message\'s org.caduceus.expires_at may ask for (time to capture orders in the EHR); 0 = no lower bound.' }),
    retention_max_allowed: Type.String({ pattern: DURATION_PATTERN, description: 'The longest max_lifetime a room policy may set; 0 = no upper bound.' }),
    retention_purge_interval: Type.String({ pattern: DURATION_PATTERN, description: 'How often the purge job runs; 0 = never (not recommended).' }),
    retention_redaction_grace: Type.String({ pattern: DURATION_PATTERN, description: 'After a redaction, how long before its leftovers (edits, earlier state copies, media only it used) are erased; 0 = at the next purge run.' }),
    retention_to_device_max_age: Type.String({ pattern: DURATION_PATTERN, description: 'To-device messages a device has not collected after this long are deleted; 0 = kept.' }),
  },
  { additionalProperties: false },
);

export type Settings = Static<typeof Settings>;

export const defaults: Settings = {
  server_name: 'localhost',
  bind: '127.0.0.1',
  port: 8008,
  workers: 1,
  // Measured in docs/benchmarks.md (pass eight): with 1,000 long-polls, 128 keeps the delivery p99 under 25 ms.
  gc_semi_space_mb: 128,
  data_dir: './data',
  registration: 'closed',
  rate_limits: 'on',
  log_level: 'info',
  access_token_lifetime_ms: 0,
  max_json_body_bytes: 1024 * 1024,
  room_encryption: 'optional',
  max_upload_bytes: 100 * 1024 * 1024,
  password_min_length: 12,
  password_require_digit: false,
  password_require_symbol: false,
  password_require_mixed_case: false,
  trust_proxy: false,
  contact_policy: 'roles',
  unassigned_role: 'staff',
  mfa: 'required',
  sso_redirect_allowlist: [],
  upstream_idp_issuer: '',
  upstream_idp_name: 'your organisation',
  upstream_idp_client_id: '',
  upstream_idp_client_secret_file: '',
  upstream_idp_scopes: ['openid', 'profile', 'email'],
  upstream_idp_localpart_claim: 'preferred_username',
  upstream_idp_displayname_claim: 'name',
  upstream_idp_roles_claim: '',
  upstream_idp_groups_claim: 'groups',
  upstream_idp_allowed_groups: [],
  upstream_idp_allowed_email_domains: [],
  upstream_idp_provision: false,
  upstream_idp_second_factor: 'always',
  upstream_idp_mfa_acr_values: [],
  // NIST SP 800-63B re-authentication at AAL2: after 30 minutes of inactivity, and at least every
  // 12 hours (one clinical shift) whatever the activity.
  session_idle_timeout: '30m',
  session_max_lifetime: '12h',
  // Nothing expires unless the organisation says so; and nothing may be set to vanish within a day,
  // so a texted order can be captured in the EHR first (see README "Retention").
  retention_default_max_lifetime: '0',
  retention_min_allowed: '1d',
  retention_max_allowed: '0',
  retention_purge_interval: '15m',
  retention_redaction_grace: '1d',
  retention_to_device_max_age: '30d',
};

export interface PasswordPolicy {
  minLength: number;
  requireDigit: boolean;
  requireSymbol: boolean;
  requireMixedCase: boolean;
}

/** The validated configuration the rest of the server reads. */
export interface Config {
  serverName: string;
  publicUrl: string;
  /** True when public_url was not set and is derived from bind and port (then the bound port is used). */
  publicUrlDerived: boolean;
  bind: string;
  port: number;
  /** Threads serving HTTP (worker-threads.ts); 1 = this thread alone. */
  workers: number;
  /** V8's young-generation semi-space in MiB (young-generation.ts); 0 = Node's default. */
  gcSemiSpaceMb: number;
  dataDir: string;
  database: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };
  registration: 'closed' | 'token' | 'open';
  rateLimits: boolean;
  logLevel: Settings['log_level'];
  /** null: access tokens do not expire. */
  accessTokenLifetimeMs: number | null;
  maxJsonBodyBytes: number;
  maxUploadBytes: number;
  passwordPolicy: PasswordPolicy;
  /** Organisation policy: rooms must be end-to-end encrypted. */
  encryptionRequired: boolean;
  trustProxy: boolean;
  /** Who may contact whom (see compliance/policy/contact.ts). */
  contactPolicy: { enforceRoles: boolean; unassignedRole: 'staff' | 'patient' };
  /** Organisation policy: second factor for everyone (`required`) or only for administrators and security officers. */
  mfa: 'required' | 'optional';
  /** URL prefixes or origins SSO may redirect to; empty means only the public URL. */
  ssoRedirectAllowlist: string[];
  /** The organisation's own OpenID Connect provider; null: local passwords. */
  upstreamIdp: UpstreamIdpConfig | null;
  /** Automatic logoff: null = that limit is off. */
  sessionPolicy: { idleTimeoutMs: number | null; maxLifetimeMs: number | null };
  /** Retention and purging (compliance/retention); null = no such limit. */
  retention: RetentionConfig;
}

export interface RetentionConfig {
  defaultMaxLifetimeMs: number | null;
  /** 0 = no lower bound. */
  minAllowedMs: number;
  maxAllowedMs: number | null;
  /** null: the purge job does not run on its own. */
  purgeIntervalMs: number | null;
  redactionGraceMs: number;
  toDeviceMaxAgeMs: number | null;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const envName = (key: string) => `CADUCEUS_${key.toUpperCase()}`;

/** The settings table, for documentation and `caduceus config` output. */
export function describeSettings(): { key: string; env: string; default: unknown; description: string }[] {
  return Object.entries(Settings.properties).map(([key, schema]) => ({
    key,
    env: envName(key),
    default: (defaults as Record<string, unknown>)[key],
    description: (schema as { description?: string }).description ?? '',
  }));
}

function readFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the configuration file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`the configuration file ${path} is not valid YAML/JSON: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`the configuration file ${path} must hold a mapping of settings`);
  }
  return parsed as Record<string, unknown>;
}

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(Settings.properties)) {
    const value = env[envName(key)];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

/**
 * Loads configuration: defaults < file (CADUCEUS_CONFIG, or ./caduceus.yaml when present) < environment.
 * `overrides` (used by tests and the CLI) win over everything.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Settings> = {},
  cwd: string = process.cwd(),
): Config {
  const filePath = env.CADUCEUS_CONFIG ?? (existsSync(resolve(cwd, 'caduceus.yaml')) ? 'caduceus.yaml' : undefined);
  const file = filePath ? readFile(resolve(cwd, filePath)) : {};
  const origin = (key: string) =>
    key in overrides ? key : env[envName(key)] ? envName(key) : `${key} in ${filePath ?? 'the configuration file'}`;

  const merged: Record<string, unknown> = { ...defaults, ...file, ...fromEnv(env), ...overrides };
  // Friendly booleans and on/off for environment variables.
  for (const [key, schema] of Object.entries(Settings.properties)) {
    const v = merged[key];
    if ((schema as { type?: string }).type === 'boolean' && typeof v === 'string') {
      if (/^(true|on|yes|1)$/i.test(v)) merged[key] = true;
      else if (/^(false|off|no|0)$/i.test(v)) merged[key] = false;
    }
    // Lists come from the environment as comma- or space-separated text.
    if ((schema as { type?: string }).type === 'array' && typeof v === 'string') merged[key] = v.split(/[\s,]+/).filter(Boolean);
  }
  const converted = Value.Convert(Settings, merged) as Record<string, unknown>;

  const problems: string[] = [];
  for (const key of Object.keys(converted)) {
    if (!(key in Settings.properties)) problems.push(`${key} in ${filePath}: unknown setting`);
  }
  const seen = new Set<string>();
  for (const error of Value.Errors(Settings, converted)) {
    const key = error.instancePath.replace(/^\//, '');
    if (!key || seen.has(key)) continue;
    seen.add(key);
    const schema = (Settings.properties as Record<string, { enum?: string[]; description?: string }>)[key];
    const allowed = schema?.enum ? `one of ${schema.enum.join(', ')}` : error.message;
    problems.push(`${origin(key)}: must be ${allowed.replace(/^must (be )?/, '')} (got ${JSON.stringify(merged[key])})`);
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  - ${problems.join('\n  - ')}`);

  const s = converted as Settings;
  if (!isValidServerName(s.server_name)) {
    throw new ConfigError(`invalid configuration:\n  - ${origin('server_name')}: "${s.server_name}" is not a valid Matrix server name (a host name with an optional :port)`);
  }
  const retention = retentionConfig(s, origin);
  const displayHost = s.bind === '0.0.0.0' || s.bind === '::' ? 'localhost' : s.bind.includes(':') ? `[${s.bind}]` : s.bind;
  return {
    serverName: s.server_name,
    publicUrl: (s.public_url ?? `http://${displayHost}:${s.port}`).replace(/\/+$/, ''),
    publicUrlDerived: s.public_url === undefined,
    bind: s.bind,
    port: s.port,
    workers: s.workers,
    gcSemiSpaceMb: s.gc_semi_space_mb,
    dataDir: resolve(cwd, s.data_dir),
    database: s.database_url
      ? { kind: 'postgres', url: s.database_url }
      : { kind: 'sqlite', path: resolve(cwd, s.data_dir, 'caduceus.sqlite') },
    registration: s.registration,
    rateLimits: s.rate_limits === 'on',
    logLevel: s.log_level,
    accessTokenLifetimeMs: s.access_token_lifetime_ms > 0 ? s.access_token_lifetime_ms : null,
    maxJsonBodyBytes: s.max_json_body_bytes,
    maxUploadBytes: s.max_upload_bytes,
    encryptionRequired: s.room_encryption === 'required',
    passwordPolicy: {
      minLength: s.password_min_length,
      requireDigit: s.password_require_digit,
      requireSymbol: s.password_require_symbol,
      requireMixedCase: s.password_require_mixed_case,
    },
    trustProxy: s.trust_proxy,
    contactPolicy: { enforceRoles: s.contact_policy === 'roles', unassignedRole: s.unassigned_role },
    mfa: s.mfa,
    ssoRedirectAllowlist: s.sso_redirect_allowlist,
    upstreamIdp: upstreamIdpFrom(s, env, cwd, origin),
    sessionPolicy: { idleTimeoutMs: parseDurationSetting(s.session_idle_timeout), maxLifetimeMs: parseDurationSetting(s.session_max_lifetime) },
    retention,
  };
}

/** The retention settings, checked against each other (the default must lie in the allowed range). */
function retentionConfig(s: Settings, origin: (key: string) => string): RetentionConfig {
  const r: RetentionConfig = {
    defaultMaxLifetimeMs: parseDurationSetting(s.retention_default_max_lifetime),
    minAllowedMs: parseDurationSetting(s.retention_min_allowed) ?? 0,
    maxAllowedMs: parseDurationSetting(s.retention_max_allowed),
    purgeIntervalMs: parseDurationSetting(s.retention_purge_interval),
    redactionGraceMs: parseDurationSetting(s.retention_redaction_grace) ?? 0,
    toDeviceMaxAgeMs: parseDurationSetting(s.retention_to_device_max_age),
  };
  const problems: string[] = [];
  if (r.maxAllowedMs !== null && r.maxAllowedMs < r.minAllowedMs) problems.push(`${origin('retention_max_allowed')}: must not be shorter than retention_min_allowed`);
  if (r.defaultMaxLifetimeMs !== null && r.defaultMaxLifetimeMs < r.minAllowedMs) problems.push(`${origin('retention_default_max_lifetime')}: must not be shorter than retention_min_allowed`);
  if (r.defaultMaxLifetimeMs !== null && r.maxAllowedMs !== null && r.defaultMaxLifetimeMs > r.maxAllowedMs) problems.push(`${origin('retention_default_max_lifetime')}: must not be longer than retention_max_allowed`);
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return r;
}

/** The organisation's own OpenID Connect provider. */
export interface UpstreamIdpConfig {
  issuer: string;
  name: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  claims: { localpart: string; displayname: string; roles: string | null; groups: string };
  allowedGroups: string[];
  allowedEmailDomains: string[];
  provision: boolean;
  secondFactor: 'always' | 'trust_idp_mfa';
  mfaAcrValues: string[];
}

/** The upstream provider's settings, checked together; the secret from the environment or its file only. */
function upstreamIdpFrom(s: Settings, env: NodeJS.ProcessEnv, cwd: string, origin: (key: string) => string): UpstreamIdpConfig | null {
  if (!s.upstream_idp_issuer) return null;
  const problems: string[] = [];
  const issuer = new URL(s.upstream_idp_issuer);
  if (issuer.protocol !== 'https:' && !['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname)) problems.push(`${origin('upstream_idp_issuer')}: must be an https URL`);
  if (!s.upstream_idp_client_id) problems.push(`${origin('upstream_idp_client_id')}: is needed with upstream_idp_issuer`);
  if (!s.upstream_idp_scopes.includes('openid')) problems.push(`${origin('upstream_idp_scopes')}: must include openid`);
  let clientSecret = env.CADUCEUS_UPSTREAM_IDP_CLIENT_SECRET ?? '';
  if (!clientSecret && s.upstream_idp_client_secret_file) {
    try {
      clientSecret = readFileSync(resolve(cwd, s.upstream_idp_client_secret_file), 'utf8').trim();
    } catch (err) {
      problems.push(`${origin('upstream_idp_client_secret_file')}: cannot be read (${(err as Error).message})`);
    }
  }
  if (!clientSecret && problems.length === 0) problems.push('CADUCEUS_UPSTREAM_IDP_CLIENT_SECRET or upstream_idp_client_secret_file: the client secret is needed with upstream_idp_issuer');
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return {
    issuer: s.upstream_idp_issuer.replace(/\/+$/, ''),
    name: s.upstream_idp_name,
    clientId: s.upstream_idp_client_id,
    clientSecret,
    scopes: s.upstream_idp_scopes,
    claims: { localpart: s.upstream_idp_localpart_claim, displayname: s.upstream_idp_displayname_claim, roles: s.upstream_idp_roles_claim || null, groups: s.upstream_idp_groups_claim },
    allowedGroups: s.upstream_idp_allowed_groups,
    allowedEmailDomains: s.upstream_idp_allowed_email_domains.map((d) => d.toLowerCase().replace(/^@/, '')),
    provision: s.upstream_idp_provision,
    secondFactor: s.upstream_idp_second_factor,
    mfaAcrValues: s.upstream_idp_mfa_acr_values,
  };
}
