import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parsePermissionConfig, permissionAllows } from './permission-config.ts';

describe('permissionConfig validation', () => {
  const valid: Array<[string, unknown]> = [
    ['the default alone', { defaultSetting: 'allow all' }],
    ['every kind of exception', {
      defaultSetting: 'block all',
      serverExceptions: { 'hospital.example': {}, 'other.example:8448': {} },
      userExceptions: { '@dr.jones:hospital.example': {} },
      groupExceptions: [{ groupName: 'isInsuredPerson' }],
    }],
    ['empty exception lists', { defaultSetting: 'block all', serverExceptions: {}, userExceptions: {}, groupExceptions: [] }],
  ];
  for (const [name, content] of valid) {
    test(`accepts ${name}`, () => assert.equal(parsePermissionConfig(content).ok, true));
  }

  const invalid: Array<[string, unknown, RegExp]> = [
    ['a list instead of an object', [], /JSON object/],
    ['a missing defaultSetting', { userExceptions: {} }, /defaultSetting/],
    ['an unknown defaultSetting', { defaultSetting: 'allow some' }, /defaultSetting/],
    ['a misspelt field (it would silently do nothing)', { defaultSetting: 'block all', userexceptions: { '@a:b.example': {} } }, /unknown field "userexceptions"/],
    ['userExceptions as a list', { defaultSetting: 'block all', userExceptions: ['@a:b.example'] }, /userExceptions must be an object/],
    ['a user exception that is not a user id', { defaultSetting: 'block all', userExceptions: { 'dr.jones': {} } }, /not a Matrix user id/],
    ['a user exception whose value is not an object', { defaultSetting: 'block all', userExceptions: { '@a:b.example': true } }, /must be an object/],
    ['a server exception that is not a server name', { defaultSetting: 'block all', serverExceptions: { 'bad server': {} } }, /not a Matrix server name/],
    ['an unknown group', { defaultSetting: 'allow all', groupExceptions: [{ groupName: 'isDoctor' }] }, /groupExceptions/],
    ['a group listed twice', { defaultSetting: 'allow all', groupExceptions: [{ groupName: 'isInsuredPerson' }, { groupName: 'isInsuredPerson' }] }, /twice/],
  ];
  for (const [name, content, problem] of invalid) {
    test(`refuses ${name}`, () => {
      const parsed = parsePermissionConfig(content);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.problem, problem);
    });
  }
});

describe('permissionAllows', () => {
  test('no config allows everyone, as on a plain Matrix server', () => {
    assert.equal(permissionAllows(undefined, { userId: '@a:b.example', isPatient: true }), true);
  });
});
