/**
 * The organisation policies an administrator may change at run time. Each one reads its default
 * from the configuration and applies a stored value by changing the live configuration object in
 * place, which every service reads on each request: a change takes effect without a restart.
 */
import { Type, type TSchema } from 'typebox';
import type { Config } from '../../config/config.ts';

export interface PolicyDefinition {
  key: string;
  description: string;
  schema: TSchema;
  /** The current value as the live configuration has it. */
  read(config: Config): unknown;
  /** Makes `value` (already validated against `schema`) the live value. */
  apply(config: Config, value: unknown): void;
}

/** 0 in the API means "no limit", which the configuration keeps as null. */
const msOrNull = (value: unknown) => (value === 0 ? null : (value as number));
const DurationMs = (description: string) => Type.Integer({ minimum: 0, maximum: 365 * 86_400_000, description });

export const POLICY_DEFINITIONS: readonly PolicyDefinition[] = [
  {
    key: 'mfa',
    description: 'required: every account signs in with a second factor; optional: only administrators and security officers must.',
    schema: Type.Enum(['required', 'optional']),
    read: (c) => c.mfa,
    apply: (c, v) => {
      c.mfa = v as Config['mfa'];
    },
  },
  {
    key: 'session_idle_timeout_ms',
    description: 'Automatic logoff after this long without a request from the device; 0 = never.',
    schema: DurationMs('milliseconds; 0 = never'),
    read: (c) => c.sessionPolicy.idleTimeoutMs ?? 0,
    apply: (c, v) => {
      c.sessionPolicy.idleTimeoutMs = msOrNull(v);
    },
  },
  {
    key: 'session_max_lifetime_ms',
    description: 'A session ends this long after sign-in whatever its activity; 0 = never.',
    schema: DurationMs('milliseconds; 0 = never'),
    read: (c) => c.sessionPolicy.maxLifetimeMs ?? 0,
    apply: (c, v) => {
      c.sessionPolicy.maxLifetimeMs = msOrNull(v);
    },
  },
  {
    key: 'contact_policy',
    description:
      'roles: the organisation roles decide who may invite, message and find whom (patients are invited only by the care team and never reach other patients); off: no role rules (each user\'s own permissionConfig still applies).',
    schema: Type.Enum(['roles', 'off']),
    read: (c) => (c.contactPolicy.enforceRoles ? 'roles' : 'off'),
    apply: (c, v) => {
      c.contactPolicy.enforceRoles = v === 'roles';
    },
  },
  {
    key: 'unassigned_role',
    description: 'The role the contact policy counts for accounts that hold none (e.g. self-registered accounts): staff or patient.',
    schema: Type.Enum(['staff', 'patient']),
    read: (c) => c.contactPolicy.unassignedRole,
    apply: (c, v) => {
      c.contactPolicy.unassignedRole = v as Config['contactPolicy']['unassignedRole'];
    },
  },
  {
    key: 'room_encryption',
    description: 'required: every new room must be end-to-end encrypted and plaintext messages in encrypted rooms are refused.',
    schema: Type.Enum(['optional', 'required']),
    read: (c) => (c.encryptionRequired ? 'required' : 'optional'),
    apply: (c, v) => {
      c.encryptionRequired = v === 'required';
    },
  },
];
