/**
 * A user's own "who may invite me" setting, in the gematik TI-Messenger shape (TI-M Pro
 * `permissionConfig`, schema permissionConfig_V1), kept in global account data:
 *
 *   { "defaultSetting": "allow all" | "block all",
 *     "serverExceptions": { "<server name>": {} },
 *     "userExceptions":   { "@user:server": {} },
 *     "groupExceptions":  [ { "groupName": "isInsuredPerson" } ] }
 *
 * Every exception inverts the default for the inviters it names (so with "block all" each one is an
 * allow-list entry, with "allow all" a block-list entry); an inviter named by several is still just
 * "the exception". `isInsuredPerson` names patients (insured persons, in TI-M terms).
 *
 * Pure: no I/O. Validation is stricter than gematik's schema (unknown keys, bad user ids and server
 * names are refused) so a typo cannot silently lock the owner out of every invitation.
 */
import { isValidServerName, parseUserId } from '@caduceus/core';

/** The account data type TI-M Pro clients read and write. */
export const PERMISSION_CONFIG_TYPE = 'de.gematik.tim.account.permissionconfig.pro.v1';

export const GROUP_INSURED_PERSON = 'isInsuredPerson';
const GROUPS: readonly string[] = [GROUP_INSURED_PERSON];

export type DefaultSetting = 'allow all' | 'block all';

export interface PermissionConfig {
  defaultSetting: DefaultSetting;
  serverExceptions: ReadonlySet<string>;
  userExceptions: ReadonlySet<string>;
  groupExceptions: ReadonlySet<string>;
}

/** What the decision needs to know of the person sending the invitation. */
export interface Inviter {
  userId: string;
  /** True when the inviter acts as a patient (see actsAsPatient). */
  isPatient: boolean;
}

export type PermissionConfigParse = { ok: true; config: PermissionConfig } | { ok: false; problem: string };

const MAX_EXCEPTIONS = 10_000;
const KNOWN_KEYS = new Set(['defaultSetting', 'serverExceptions', 'userExceptions', 'groupExceptions']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a document a client wants to store; the problem is worded for the client's developer. */
export function parsePermissionConfig(content: unknown): PermissionConfigParse {
  const fail = (problem: string): PermissionConfigParse => ({ ok: false, problem });
  if (!isObject(content)) return fail('permissionConfig must be a JSON object');
  for (const key of Object.keys(content)) {
    if (!KNOWN_KEYS.has(key)) return fail(`unknown field "${key}" (allowed: ${[...KNOWN_KEYS].join(', ')})`);
  }
  const { defaultSetting, serverExceptions = {}, userExceptions = {}, groupExceptions = [] } = content;
  if (defaultSetting !== 'allow all' && defaultSetting !== 'block all') return fail('defaultSetting must be "allow all" or "block all"');

  if (!isObject(serverExceptions)) return fail('serverExceptions must be an object mapping server names to {}');
  if (!isObject(userExceptions)) return fail('userExceptions must be an object mapping user ids to {}');
  if (!Array.isArray(groupExceptions)) return fail('groupExceptions must be a list of {"groupName": ...}');
  if (Object.keys(serverExceptions).length + Object.keys(userExceptions).length + groupExceptions.length > MAX_EXCEPTIONS) {
    return fail(`at most ${MAX_EXCEPTIONS} exceptions`);
  }
  for (const [server, value] of Object.entries(serverExceptions)) {
    if (!isValidServerName(server)) return fail(`serverExceptions: "${server}" is not a Matrix server name`);
    if (!isObject(value)) return fail(`serverExceptions: the value for "${server}" must be an object ({})`);
  }
  for (const [user, value] of Object.entries(userExceptions)) {
    if (!parseUserId(user)) return fail(`userExceptions: "${user}" is not a Matrix user id`);
    if (!isObject(value)) return fail(`userExceptions: the value for "${user}" must be an object ({})`);
  }
  const groups = new Set<string>();
  for (const entry of groupExceptions) {
    const name = isObject(entry) ? entry.groupName : undefined;
    if (typeof name !== 'string' || !GROUPS.includes(name)) return fail(`groupExceptions: each entry must be {"groupName": ${GROUPS.map((g) => `"${g}"`).join(' | ')}}`);
    if (groups.has(name)) return fail(`groupExceptions: "${name}" is listed twice`);
    groups.add(name);
  }
  return {
    ok: true,
    config: {
      defaultSetting,
      serverExceptions: new Set(Object.keys(serverExceptions)),
      userExceptions: new Set(Object.keys(userExceptions)),
      groupExceptions: groups,
    },
  };
}

/**
 * Whether the owner of `config` accepts an invitation from `inviter`. No config: everyone is
 * allowed (a plain Matrix account accepts invites from anyone).
 */
export function permissionAllows(config: PermissionConfig | undefined, inviter: Inviter): boolean {
  if (!config) return true;
  const allowByDefault = config.defaultSetting === 'allow all';
  const server = parseUserId(inviter.userId)?.serverName;
  const isException =
    config.userExceptions.has(inviter.userId) ||
    (server !== undefined && config.serverExceptions.has(server)) ||
    (inviter.isPatient && config.groupExceptions.has(GROUP_INSURED_PERSON));
  return isException ? !allowByDefault : allowByDefault;
}
