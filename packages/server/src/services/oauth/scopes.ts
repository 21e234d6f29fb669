/**
 * Matrix OAuth scopes (spec "OAuth 2.0 API", MSC2967): `urn:matrix:client:api:*` grants the
 * Client-Server API and `urn:matrix:client:device:<device id>` binds the session to one device.
 * The unstable `urn:matrix:org.matrix.msc2967.client:` spelling is still sent by some clients
 * (matrix-rust-sdk, so Element X), so both are understood.
 */

const API_SCOPES = new Set(['urn:matrix:client:api:*', 'urn:matrix:org.matrix.msc2967.client:api:*']);
const DEVICE_PREFIXES = ['urn:matrix:client:device:', 'urn:matrix:org.matrix.msc2967.client:device:'];
/** The spec: at least 10 characters from the URI "unreserved" set. */
const DEVICE_ID = /^[A-Za-z0-9._~-]{10,64}$/;

export interface MatrixScope {
  /** The Matrix scopes as requested (to grant them back in the client's own spelling). */
  scopes: string[];
  deviceId: string;
}

export type ScopeProblem = 'no_api_scope' | 'no_device_scope' | 'several_devices' | 'bad_device_id';

export function isMatrixScope(scope: string): boolean {
  return API_SCOPES.has(scope) || DEVICE_PREFIXES.some((p) => scope.startsWith(p));
}

/** The device a scope list names, if any (a well-formed single device scope). */
export function deviceOfScope(scope: string | undefined): string | undefined {
  if (!scope) return undefined;
  const parsed = parseMatrixScope(scope);
  return 'deviceId' in parsed ? parsed.deviceId : undefined;
}

/** Checks what a client asked for: the API scope and exactly one device scope with a valid id. */
export function parseMatrixScope(scope: string): MatrixScope | { problem: ScopeProblem } {
  const requested = scope.split(' ').filter(Boolean);
  const devices: string[] = [];
  for (const s of requested) {
    const prefix = DEVICE_PREFIXES.find((p) => s.startsWith(p));
    if (prefix) devices.push(s.slice(prefix.length));
  }
  if (!requested.some((s) => API_SCOPES.has(s))) return { problem: 'no_api_scope' };
  if (devices.length === 0) return { problem: 'no_device_scope' };
  if (new Set(devices).size > 1) return { problem: 'several_devices' };
  if (!DEVICE_ID.test(devices[0]!)) return { problem: 'bad_device_id' };
  return { scopes: [...new Set(requested.filter(isMatrixScope))], deviceId: devices[0]! };
}

export const SCOPE_PROBLEMS: Record<ScopeProblem, string> = {
  no_api_scope: 'the scope must include urn:matrix:client:api:*',
  no_device_scope: 'the scope must include urn:matrix:client:device:<device id>',
  several_devices: 'the scope may name only one device',
  bad_device_id: 'the device id must be 10 to 64 characters from A-Z a-z 0-9 - . _ ~',
};
