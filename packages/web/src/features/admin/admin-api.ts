/**
 * The admin API (`/_caduceus/admin/v1`) as the console uses it: JSON in and out with the session's
 * token in the Authorization header (never in a URL), Matrix errors turned into readable messages.
 * Every call is recorded in the server's audit trail.
 */
import type { MatrixClient } from 'matrix-js-sdk';
import { homeserverUrl } from '../../matrix/session.ts';

export const ADMIN_API = '/_caduceus/admin/v1';

export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Whoami {
  user_id: string;
  roles: string[];
  admin_areas: string[];
}

export interface AdminUser {
  user_id: string;
  displayname: string | null;
  deactivated: boolean;
  roles: string[];
  created_ts: number;
}

export interface AdminDevice {
  device_id: string;
  display_name: string | null;
  created_ts: number;
  last_seen_ts: number | null;
  last_seen_ip: string | null;
  last_seen_user_agent: string | null;
}

export interface AdminRoom {
  room_id: string;
  creator: string;
  created_ts: number;
  published: boolean;
  blocked: boolean;
  joined_members: number;
}

export interface AdminDepartment {
  department_id: string;
  name: string;
  description: string | null;
  functional_user_id: string | null;
  created_ts: number;
}

export interface AdminDepartmentDetails extends AdminDepartment {
  members: string[];
}

export interface RegistrationToken {
  token: string;
  uses_allowed: number | null;
  completed: number;
  expiry_ts: number | null;
  created_ts: number;
  created_by: string | null;
}

export interface LegalHold {
  hold_id: string;
  user_id?: string;
  room_id?: string;
  reason: string;
  created_by: string;
  created_ts: number;
}

export interface Policy {
  value: unknown;
  default: unknown;
  source: 'config' | 'stored';
  description?: string;
}

export interface AuditEntry {
  seq: number;
  time: string;
  actor: { user_id: string | null; device_id: string | null; address: string | null };
  action: string;
  outcome: string;
  target: Record<string, unknown> | null;
  details: unknown;
}

export interface ChainStatus {
  ok: boolean;
  entries: number;
  last_seq: number | null;
  checkpoints: number;
  last_verified_checkpoint: unknown;
  problems: unknown[];
}

export interface ComplianceReport {
  generated_ts: number;
  server_name: string;
  safeguards: Array<{ id: string; name: string; status: 'on' | 'off' | 'partial'; evidence: Record<string, unknown>; note: string }>;
  users: { active: number; admins: number; security_officers: number; without_mfa: string[] | null };
  audit_chain: ChainStatus;
}

export const ROLES = ['admin', 'security_officer', 'clinician', 'staff', 'patient', 'service'] as const;

/** A query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

function authHeader(client: MatrixClient): Record<string, string> {
  return { Authorization: `Bearer ${client.getAccessToken() ?? ''}` };
}

export async function adminRequest<T>(client: MatrixClient, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${homeserverUrl()}${ADMIN_API}${path}`, {
    method,
    headers: { ...authHeader(client), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await response.json().catch(() => ({}))) as { errcode?: string; error?: string };
  if (!response.ok) throw new AdminApiError(response.status, json.errcode ?? 'M_UNKNOWN', json.error ?? `The server answered ${response.status}`);
  return json as T;
}

/** The caller's roles; undefined when the server has no admin API. */
export async function whoami(client: MatrixClient): Promise<Whoami | undefined> {
  try {
    return await adminRequest<Whoami>(client, 'GET', '/whoami');
  } catch {
    return undefined;
  }
}

/** Downloads an export as a file: fetched with the token header, handed to the browser as a blob. */
export async function downloadAuditExport(client: MatrixClient, params: Record<string, string | undefined>): Promise<string> {
  const response = await fetch(`${homeserverUrl()}${ADMIN_API}/audit/export${query(params)}`, { headers: authHeader(client) });
  if (!response.ok) {
    const json = (await response.json().catch(() => ({}))) as { error?: string };
    throw new AdminApiError(response.status, 'M_UNKNOWN', json.error ?? `The server answered ${response.status}`);
  }
  const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? 'audit-export';
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

/** A path segment (ids hold `@`, `:` and `!`). */
export const seg = (value: string) => encodeURIComponent(value);

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : 'Something went wrong.';
}

export function when(ts: number | null | undefined): string {
  return ts ? new Date(ts).toLocaleString() : '—';
}
