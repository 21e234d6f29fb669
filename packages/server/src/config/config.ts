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
    session_idle_timeout: Type.String({ pattern: DURATION_PATTERN, description: 'A session with no request from its device for this long is logged out (soft logout); e.g. 30m; a bare number means minutes; 0 = never.' }),
    session_max_lifetime: Type.String({ pattern: DURATION_PATTERN, description: 'A session ends this long after sign-in whatever its activity (soft logout); e.g. 12h; a bare number means minutes; 0 = never.' }),
  },
  { additionalProperties: false },
);

export type Settings = Static<typeof Settings>;

export const defaults: Settings = {
  server_name: 'localhost',
  bind: '127.0.0.1',
  port: 8008,
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
  // NIST SP 800-63B re-authentication at AAL2: after 30 minutes of inactivity, and at least every
  // 12 hours (one clinical shift) whatever the activity.
  session_idle_timeout: '30m',
  session_max_lifetime: '12h',
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
  /** Automatic logoff: null = that limit is off. */
  sessionPolicy: { idleTimeoutMs: number | null; maxLifetimeMs: number | null };
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
  const displayHost = s.bind === '0.0.0.0' || s.bind === '::' ? 'localhost' : s.bind.includes(':') ? `[${s.bind}]` : s.bind;
  return {
    serverName: s.server_name,
    publicUrl: (s.public_url ?? `http://${displayHost}:${s.port}`).replace(/\/+$/, ''),
    publicUrlDerived: s.public_url === undefined,
    bind: s.bind,
    port: s.port,
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
    sessionPolicy: { idleTimeoutMs: parseDurationSetting(s.session_idle_timeout), maxLifetimeMs: parseDurationSetting(s.session_max_lifetime) },
  };
}
