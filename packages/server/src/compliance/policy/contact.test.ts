import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Role } from '@caduceus/core';
import {
  DEFAULT_CONTACT_SETTINGS,
  actsAsPatient,
  mayCreateRoom,
  mayFindInDirectory,
  mayInvite,
  mayJoin,
  mayStartDirectChat,
  type ContactSettings,
  type Person,
} from './contact.ts';
import { parsePermissionConfig, type PermissionConfig } from './permission-config.ts';

const on = DEFAULT_CONTACT_SETTINGS;
const off: ContactSettings = { ...on, enforceRoles: false };
const unassignedArePatients: ContactSettings = { ...on, unassignedRole: 'patient' };

let n = 0;
const person = (roles: Role[], extra: Partial<Person> = {}): Person => ({ userId: `@u${++n}:hospital.example`, roles, ...extra });
const admin = () => person(['admin']);
const clinician = () => person(['clinician']);
const staff = () => person(['staff']);
const patient = () => person(['patient']);
const service = () => person(['service']);
const officer = () => person(['security_officer']);
const noRole = () => person([]);
const department = () => person(['service'], { functional: true });

function config(json: unknown): PermissionConfig {
  const parsed = parsePermissionConfig(json);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.config;
}

describe('who acts as a patient', () => {
  const cases: Array<[Role[], ContactSettings, boolean]> = [
    [['patient'], on, true],
    [['patient', 'clinician'], on, false],
    [['patient', 'staff'], on, false],
    [['patient', 'service'], on, false],
    [['patient', 'security_officer'], on, true],
    [[], on, false],
    [[], unassignedArePatients, true],
    [['staff'], unassignedArePatients, false],
  ];
  for (const [roles, settings, expected] of cases) {
    test(`roles [${roles.join(', ')}] with unassigned=${settings.unassignedRole} ${expected ? 'act' : 'do not act'} as a patient`, () => {
      assert.equal(actsAsPatient(roles, settings), expected);
    });
  }
});

describe('who may invite whom', () => {
  const cases: Array<{ name: string; inviter: () => Person; invitee: () => Person; sharesRoom?: boolean; settings?: ContactSettings; reason: string; allowed: boolean }> = [
    { name: 'a clinician invites a patient', inviter: clinician, invitee: patient, reason: 'care_team_invites_patient', allowed: true },
    { name: 'staff invite a patient', inviter: staff, invitee: patient, reason: 'care_team_invites_patient', allowed: true },
    { name: 'an admin invites a patient', inviter: admin, invitee: patient, reason: 'admin', allowed: true },
    { name: 'a service account invites a patient', inviter: service, invitee: patient, reason: 'service', allowed: true },
    { name: 'a user without roles counts as staff and invites a patient', inviter: noRole, invitee: patient, reason: 'care_team_invites_patient', allowed: true },
    { name: 'a security officer may not invite a patient', inviter: officer, invitee: patient, reason: 'patient_needs_care_team_inviter', allowed: false },
    { name: 'a patient may not invite a patient', inviter: patient, invitee: patient, reason: 'patient_invites_patient', allowed: false },
    { name: 'a patient may not invite a patient even in a shared room', inviter: patient, invitee: patient, sharesRoom: true, reason: 'patient_invites_patient', allowed: false },
    { name: 'a patient may not invite a clinician they share no room with', inviter: patient, invitee: clinician, reason: 'patient_invites_stranger', allowed: false },
    { name: 'a patient invites a clinician they share a room with', inviter: patient, invitee: clinician, sharesRoom: true, reason: 'patient_invites_room_mate', allowed: true },
    { name: 'a patient invites a department', inviter: patient, invitee: department, reason: 'patient_invites_department', allowed: true },
    { name: 'staff invite staff', inviter: staff, invitee: clinician, reason: 'colleague', allowed: true },
    { name: 'two users without roles invite each other, as on plain Matrix', inviter: noRole, invitee: noRole, reason: 'colleague', allowed: true },
    { name: 'with unassigned = patient, two users without roles may not', inviter: noRole, invitee: noRole, settings: unassignedArePatients, reason: 'patient_invites_patient', allowed: false },
    { name: 'with the role rules off a patient invites a patient', inviter: patient, invitee: patient, settings: off, reason: 'roles_off', allowed: true },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.allowed ? 'allowed' : 'refused'} (${c.reason})`, () => {
      const decision = mayInvite(c.inviter(), c.invitee(), { sharesRoom: c.sharesRoom ?? false }, c.settings ?? on);
      assert.equal(decision.allowed, c.allowed);
      assert.equal(decision.reason, c.reason);
      if (!decision.allowed) assert.ok(decision.message.length > 0);
    });
  }

  test('the refusal for patient to patient reads the same as for an unknown clinician, so it reveals nobody is a patient', () => {
    const a = mayInvite(patient(), patient(), { sharesRoom: false }, on);
    const b = mayInvite(patient(), clinician(), { sharesRoom: false }, on);
    assert.ok(!a.allowed && !b.allowed);
    assert.equal(a.message, b.message);
  });
});

describe("the invitee's permissionConfig", () => {
  const inviter = clinician();
  const friend = staff();
  const cases: Array<{ name: string; config: unknown; from: Person; allowed: boolean }> = [
    { name: 'allow all accepts anyone', config: { defaultSetting: 'allow all' }, from: inviter, allowed: true },
    { name: 'block all refuses everyone', config: { defaultSetting: 'block all' }, from: inviter, allowed: false },
    { name: 'block all with a user exception accepts that user', config: { defaultSetting: 'block all', userExceptions: { [friend.userId]: {} } }, from: friend, allowed: true },
    { name: 'block all with a user exception still refuses others', config: { defaultSetting: 'block all', userExceptions: { [friend.userId]: {} } }, from: inviter, allowed: false },
    { name: 'allow all with a user exception refuses that user', config: { defaultSetting: 'allow all', userExceptions: { [inviter.userId]: {} } }, from: inviter, allowed: false },
    { name: 'block all with a server exception accepts users of that server', config: { defaultSetting: 'block all', serverExceptions: { 'hospital.example': {} } }, from: inviter, allowed: true },
    { name: 'block all naming a user both by server and by id still accepts them (an exception inverts once)', config: { defaultSetting: 'block all', serverExceptions: { 'hospital.example': {} }, userExceptions: { [inviter.userId]: {} } }, from: inviter, allowed: true },
    { name: 'allow all with the insured-person group refuses patients', config: { defaultSetting: 'allow all', groupExceptions: [{ groupName: 'isInsuredPerson' }] }, from: person(['patient']), allowed: false },
    { name: 'allow all with the insured-person group accepts clinicians', config: { defaultSetting: 'allow all', groupExceptions: [{ groupName: 'isInsuredPerson' }] }, from: inviter, allowed: true },
  ];
  for (const c of cases) {
    test(`${c.name}`, () => {
      // A staff invitee (patients invite staff only from a shared room, so share one here).
      const decision = mayInvite(c.from, { ...staff(), permissionConfig: config(c.config) }, { sharesRoom: true }, on);
      assert.equal(decision.allowed, c.allowed);
      if (!decision.allowed) assert.equal(decision.reason, 'permission_config');
    });
  }

  test('admins and service accounts pass the role rules but not the permissionConfig', () => {
    const blocking = { ...patient(), permissionConfig: config({ defaultSetting: 'block all' }) };
    for (const who of [admin(), service()]) {
      const decision = mayInvite(who, blocking, { sharesRoom: false }, on);
      assert.equal(decision.reason, 'permission_config');
    }
  });

  test('with the role rules off the permissionConfig still applies', () => {
    const decision = mayInvite(staff(), { ...staff(), permissionConfig: config({ defaultSetting: 'block all' }) }, { sharesRoom: false }, off);
    assert.equal(decision.reason, 'permission_config');
  });
});

describe('creating rooms and direct chats', () => {
  test('a clinician creates a room with two patients', () => {
    const result = mayCreateRoom(clinician(), [{ invitee: patient(), sharesRoom: false }, { invitee: patient(), sharesRoom: false }], on);
    assert.equal(result.decision.allowed, true);
  });

  test('a patient creating a room with a clinician and a patient is refused, naming the patient', () => {
    const other = patient();
    const result = mayCreateRoom(patient(), [{ invitee: clinician(), sharesRoom: true }, { invitee: other, sharesRoom: true }], on);
    assert.equal(result.decision.allowed, false);
    assert.equal(result.decision.reason, 'patient_invites_patient');
    assert.equal(result.refusedUserId, other.userId);
  });

  test('a patient creates a room with nobody in it', () => {
    assert.equal(mayCreateRoom(patient(), [], on).decision.allowed, true);
  });

  const dms: Array<[string, () => Person, () => Person, boolean]> = [
    ['a patient with a patient', patient, patient, false],
    ['a clinician with a patient', clinician, patient, true],
    ['a patient with a department', patient, department, true],
    ['staff with staff', staff, staff, true],
  ];
  for (const [name, a, b, allowed] of dms) {
    test(`a direct chat of ${name} is ${allowed ? 'allowed' : 'refused'}`, () => {
      assert.equal(mayStartDirectChat(a(), b(), { sharesRoom: false }, on).allowed, allowed);
    });
  }
});

describe('joining rooms', () => {
  const cases: Array<[string, () => Person, boolean, ContactSettings, boolean, string]> = [
    ['a patient joins a room they are invited to', patient, true, on, true, 'invited'],
    ['a patient may not join a room without an invitation', patient, false, on, false, 'patient_join_requires_invite'],
    ['staff join a public room without invitation', staff, false, on, true, 'not_a_patient'],
    ['with role rules off a patient joins a public room', patient, false, off, true, 'roles_off'],
  ];
  for (const [name, who, invited, settings, allowed, reason] of cases) {
    test(name, () => {
      const decision = mayJoin(who(), { invited }, settings);
      assert.equal(decision.allowed, allowed);
      assert.equal(decision.reason, reason);
    });
  }
});

describe('the user directory', () => {
  const cases: Array<{ name: string; searcher: () => Person; candidate: () => Person; sharesRoom: boolean; inPublishedRoom?: boolean; settings?: ContactSettings; reason: string }> = [
    { name: 'a patient finds their clinician in a shared room', searcher: patient, candidate: clinician, sharesRoom: true, reason: 'room_mate' },
    { name: 'a patient does not find a clinician in a published room', searcher: patient, candidate: clinician, sharesRoom: false, inPublishedRoom: true, reason: 'patient_sees_room_mates_only' },
    { name: 'a patient never finds another patient, even in a shared room', searcher: patient, candidate: patient, sharesRoom: true, reason: 'patient_hidden_from_patient' },
    { name: 'a patient does not find departments', searcher: patient, candidate: department, sharesRoom: false, reason: 'department_hidden_from_patient' },
    { name: 'staff find departments', searcher: staff, candidate: department, sharesRoom: false, reason: 'department' },
    { name: 'a clinician finds a patient in a shared room', searcher: clinician, candidate: patient, sharesRoom: true, reason: 'room_mate' },
    { name: 'staff find people in published rooms', searcher: staff, candidate: clinician, sharesRoom: false, inPublishedRoom: true, reason: 'published_room' },
    { name: 'staff do not find strangers', searcher: staff, candidate: clinician, sharesRoom: false, reason: 'no_shared_room' },
    { name: 'with role rules off a patient finds a patient in a shared room', searcher: patient, candidate: patient, sharesRoom: true, settings: off, reason: 'room_mate' },
  ];
  for (const c of cases) {
    test(`${c.name} (${c.reason})`, () => {
      const decision = mayFindInDirectory(c.searcher(), c.candidate(), { sharesRoom: c.sharesRoom, inPublishedRoom: c.inPublishedRoom ?? false }, c.settings ?? on);
      assert.equal(decision.reason, c.reason);
    });
  }
});
