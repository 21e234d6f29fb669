/**
 * Matrix identifier grammar (spec appendices, "Identifier Grammar").
 * Pure functions so the web app can use the same rules as the server.
 */

/** Longest allowed fully qualified user id, in bytes. */
export const MAX_USER_ID_LENGTH = 255;

const LOCALPART = /^[a-z0-9._=\-/+]+$/;
// Historical user ids may contain any printable ASCII except ':'; we accept them when parsing others' ids.
const HISTORICAL_LOCALPART = /^[!-9;-~]+$/;
const SERVER_NAME = /^(?:\[[0-9A-Fa-f:.]{2,45}\]|[0-9A-Za-z.-]{1,255})(?::[0-9]{1,5})?$/;

export function isValidServerName(name: string): boolean {
  return SERVER_NAME.test(name);
}

/** Whether `localpart` may be used to register a new account (the strict, lower-case grammar). */
export function isValidNewLocalpart(localpart: string): boolean {
  return localpart.length > 0 && LOCALPART.test(localpart);
}

export interface ParsedUserId {
  localpart: string;
  serverName: string;
}

/** Parses `@localpart:server`; returns undefined when it is not a syntactically valid user id. */
export function parseUserId(userId: string): ParsedUserId | undefined {
  if (!userId.startsWith('@') || new TextEncoder().encode(userId).length > MAX_USER_ID_LENGTH) return undefined;
  const colon = userId.indexOf(':');
  if (colon < 2) return undefined;
  const localpart = userId.slice(1, colon);
  const serverName = userId.slice(colon + 1);
  if (!HISTORICAL_LOCALPART.test(localpart) || !isValidServerName(serverName)) return undefined;
  return { localpart, serverName };
}

export function userId(localpart: string, serverName: string): string {
  return `@${localpart}:${serverName}`;
}

/** Room ids are `!opaque:server`. */
export function isValidRoomId(roomId: string): boolean {
  if (!roomId.startsWith('!') || roomId.length > 255) return false;
  const colon = roomId.indexOf(':');
  return colon > 1 && isValidServerName(roomId.slice(colon + 1));
}

/** Device ids are opaque; we keep them printable and bounded so they are safe in paths and logs. */
export function isValidDeviceId(deviceId: string): boolean {
  return deviceId.length > 0 && deviceId.length <= 255 && /^[!-~]+$/.test(deviceId);
}
