/**
 * Who may contact whom: pure decisions over roles, the invitee's permissionConfig and the
 * organisation's settings. The services gather the facts and call these; no route decides.
 *
 * The rules:
 * - Users who hold no role count as `settings.unassignedRole` (default `staff`), so a deployment
 *   that never assigns roles works like a plain Matrix server.
 * - A user "acts as a patient" when they hold `patient` and none of admin, clinician, staff or
 *   service (a clinician who is also a patient at the hospital is treated as a clinician).
 * - Patients are invited only by the care team (admin, clinician, staff) or a service account.
 * - Patients never invite patients, and invite others only when they already share a room with
 *   them or the invitee is a department's functional account. So a patient cannot start a room or
 *   a direct chat with another patient.
 * - Patients join rooms only when invited (no walking into published rooms full of strangers).
 * - Service accounts and admins pass the role rules; nobody passes the invitee's permissionConfig.
 * - The directory shows a patient only people they share a room with, never other patients;
 *   it shows everyone else what a plain Matrix server shows plus the departments.
 * - `enforceRoles: false` switches the role rules off; permissionConfig still applies.
 */
import type { Role } from '@caduceus/core';
import { permissionAllows, type PermissionConfig } from './permission-config.ts';

export interface ContactSettings {
  /** false: role rules off (permissionConfig still applies). */
  enforceRoles: boolean;
  /** The role counted for users who hold none. */
  unassignedRole: 'staff' | 'patient';
}

export const DEFAULT_CONTACT_SETTINGS: ContactSettings = { enforceRoles: true, unassignedRole: 'staff' };

/** A user as the policy sees them. */
export interface Person {
  userId: string;
  /** Roles as stored; may be empty. */
  roles: readonly Role[];
  /** True for the functional account of a department. */
  functional?: boolean;
}

export interface Invitee extends Person {
  /** The invitee's own permissionConfig; undefined when they set none (or it is unreadable). */
  permissionConfig?: PermissionConfig | undefined;
}

export type AllowReason =
  | 'roles_off'
  | 'admin'
  | 'service'
  | 'care_team_invites_patient'
  | 'colleague'
  | 'patient_invites_room_mate'
  | 'patient_invites_department'
  | 'invited'
  | 'not_a_patient'
  | 'room_mate'
  | 'published_room'
  | 'department'
  | 'every_invitee_allowed';

export type RefuseReason =
  | 'patient_invites_patient'
  | 'patient_invites_stranger'
  | 'patient_needs_care_team_inviter'
  | 'permission_config'
  | 'patient_join_requires_invite'
  | 'patient_hidden_from_patient'
  | 'patient_sees_room_mates_only'
  | 'department_hidden_from_patient'
  | 'no_shared_room';

export type Decision = { allowed: true; reason: AllowReason } | { allowed: false; reason: RefuseReason; message: string };

const allow = (reason: AllowReason): Decision => ({ allowed: true, reason });
const refuse = (reason: RefuseReason, message: string): Decision => ({ allowed: false, reason, message });

// One wording for both patient refusals, so a refusal does not reveal whether someone is a patient.
const PATIENT_INVITE_MESSAGE = 'Patients can only invite members of their care team they already share a room with';

/** The roles that count: those held, or the unassigned role for users holding none. */
export function effectiveRoles(roles: readonly Role[], settings: ContactSettings): readonly Role[] {
  return roles.length > 0 ? roles : [settings.unassignedRole];
}

const has = (roles: readonly Role[], ...wanted: Role[]) => wanted.some((role) => roles.includes(role));

export function actsAsPatient(roles: readonly Role[], settings: ContactSettings): boolean {
  const effective = effectiveRoles(roles, settings);
  return has(effective, 'patient') && !has(effective, 'admin', 'clinician', 'staff', 'service');
}

/** May `inviter` invite `invitee` into a room? `sharesRoom`: they are both joined to some room. */
export function mayInvite(inviter: Person, invitee: Invitee, facts: { sharesRoom: boolean }, settings: ContactSettings): Decision {
  const inviterIsPatient = actsAsPatient(inviter.roles, settings);
  const byRoles = roleRulesForInvite(inviter, invitee, facts, settings, inviterIsPatient);
  if (!byRoles.allowed) return byRoles;
  if (!permissionAllows(invitee.permissionConfig, { userId: inviter.userId, isPatient: inviterIsPatient })) {
    return refuse('permission_config', 'This user does not accept invitations from you');
  }
  return byRoles;
}

function roleRulesForInvite(inviter: Person, invitee: Invitee, facts: { sharesRoom: boolean }, settings: ContactSettings, inviterIsPatient: boolean): Decision {
  if (!settings.enforceRoles) return allow('roles_off');
  const inviterRoles = effectiveRoles(inviter.roles, settings);
  if (has(inviterRoles, 'admin')) return allow('admin');
  if (has(inviterRoles, 'service')) return allow('service');
  const inviteeIsPatient = actsAsPatient(invitee.roles, settings);
  if (inviterIsPatient) {
    if (inviteeIsPatient) return refuse('patient_invites_patient', PATIENT_INVITE_MESSAGE);
    if (invitee.functional) return allow('patient_invites_department');
    return facts.sharesRoom ? allow('patient_invites_room_mate') : refuse('patient_invites_stranger', PATIENT_INVITE_MESSAGE);
  }
  if (inviteeIsPatient) {
    return has(inviterRoles, 'clinician', 'staff')
      ? allow('care_team_invites_patient')
      : refuse('patient_needs_care_team_inviter', 'Only staff and clinicians may invite this user');
  }
  return allow('colleague');
}

/** May `creator` create a room inviting all of `invitees`? The first refusal decides, naming whom. */
export function mayCreateRoom(
  creator: Person,
  invitees: ReadonlyArray<{ invitee: Invitee; sharesRoom: boolean }>,
  settings: ContactSettings,
): { decision: Decision; refusedUserId?: string } {
  for (const { invitee, sharesRoom } of invitees) {
    const decision = mayInvite(creator, invitee, { sharesRoom }, settings);
    if (!decision.allowed) return { decision, refusedUserId: invitee.userId };
  }
  return { decision: allow('every_invitee_allowed') };
}

/** A direct chat is a room created with one invitee: the same rules as an invitation. */
export function mayStartDirectChat(starter: Person, other: Invitee, facts: { sharesRoom: boolean }, settings: ContactSettings): Decision {
  return mayInvite(starter, other, facts, settings);
}

/** May `joiner` join a room? `invited`: their current membership there is an invitation. */
export function mayJoin(joiner: Person, facts: { invited: boolean }, settings: ContactSettings): Decision {
  if (!settings.enforceRoles) return allow('roles_off');
  if (facts.invited) return allow('invited');
  return actsAsPatient(joiner.roles, settings)
    ? refuse('patient_join_requires_invite', 'Patients can join a room only when invited to it')
    : allow('not_a_patient');
}

/**
 * May `searcher` find `candidate` in the user directory? `sharesRoom`: both joined to some room;
 * `inPublishedRoom`: the candidate is joined to a room published in the room directory.
 */
export function mayFindInDirectory(
  searcher: Person,
  candidate: Person,
  facts: { sharesRoom: boolean; inPublishedRoom: boolean },
  settings: ContactSettings,
): Decision {
  const searcherIsPatient = settings.enforceRoles && actsAsPatient(searcher.roles, settings);
  if (searcherIsPatient) {
    if (actsAsPatient(candidate.roles, settings)) return refuse('patient_hidden_from_patient', 'Patients do not see other patients');
    if (facts.sharesRoom) return allow('room_mate');
    return candidate.functional
      ? refuse('department_hidden_from_patient', 'Patients do not see the department directory')
      : refuse('patient_sees_room_mates_only', 'Patients see only people they share a room with');
  }
  if (facts.sharesRoom) return allow('room_mate');
  if (candidate.functional) return allow('department');
  if (facts.inPublishedRoom) return allow('published_room');
  return refuse('no_shared_room', 'Only people you share a room with are listed');
}
