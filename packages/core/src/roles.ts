/** Organisation roles. A user holds one or more; they decide what the compliance policy lets them do. */
export const ROLES = ['admin', 'security_officer', 'clinician', 'staff', 'patient', 'service'] as const;

export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
