import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { actionPowerLevel, asPowerLevel, defaultPowerLevelsContent, notificationPowerLevel, requiredEventLevel, userPowerLevel } from './power-levels.ts';

const alice = '@alice:hs.example';
const bob = '@bob:hs.example';
const create10 = { sender: alice, content: { creator: alice, room_version: '10' } };
const create11 = { sender: alice, content: { room_version: '11' } };

describe('user power levels', () => {
  const pl = { content: { users: { [alice]: 100, [bob]: 20 }, users_default: 5 } };

  test('come from users, then users_default, then 0', () => {
    assert.equal(userPowerLevel(alice, pl, create11, '11'), 100);
    assert.equal(userPowerLevel(bob, pl, create11, '11'), 20);
    assert.equal(userPowerLevel('@carol:hs.example', pl, create11, '11'), 5);
    assert.equal(userPowerLevel('@carol:hs.example', { content: {} }, create11, '11'), 0);
  });

  test('without a power levels event the creator has 100 and others 0', () => {
    assert.equal(userPowerLevel(alice, undefined, create10, '10'), 100);
    assert.equal(userPowerLevel(bob, undefined, create10, '10'), 0);
    assert.equal(userPowerLevel(alice, undefined, create11, '11'), 100);
    assert.equal(userPowerLevel(bob, undefined, undefined, '11'), 0);
  });

  test('v10 takes the creator from content.creator, v11 from the sender', () => {
    const odd = { sender: alice, content: { creator: bob } };
    assert.equal(userPowerLevel(bob, undefined, odd, '10'), 100);
    assert.equal(userPowerLevel(alice, undefined, odd, '11'), 100);
    assert.equal(userPowerLevel(bob, undefined, odd, '11'), 0);
  });

  test('a user in users with a non-integer value falls back to users_default', () => {
    assert.equal(userPowerLevel(bob, { content: { users: { [bob]: '50' }, users_default: 1 } }, create11, '11'), 1);
  });

  test('an inherited property name is not a user entry', () => {
    assert.equal(userPowerLevel('constructor', { content: { users: {} } }, create11, '11'), 0);
  });
});

describe('required levels', () => {
  const pl = { content: { events: { 'm.room.name': 60, 'm.reaction': 3 }, state_default: 40, events_default: 2, invite: 10, kick: 20 } };

  test('events entries win over the defaults', () => {
    assert.equal(requiredEventLevel('m.room.name', true, pl), 60);
    assert.equal(requiredEventLevel('m.reaction', false, pl), 3);
  });

  test('state events use state_default and others events_default', () => {
    assert.equal(requiredEventLevel('m.room.topic', true, pl), 40);
    assert.equal(requiredEventLevel('m.room.message', false, pl), 2);
  });

  test('missing values default to state 50 and events 0, with or without a power levels event', () => {
    for (const levels of [undefined, { content: {} }]) {
      assert.equal(requiredEventLevel('m.room.topic', true, levels), 50);
      assert.equal(requiredEventLevel('m.room.message', false, levels), 0);
    }
  });

  test('invite defaults to 0 and kick, ban, redact to 50', () => {
    assert.equal(actionPowerLevel('invite', undefined), 0);
    assert.equal(actionPowerLevel('kick', undefined), 50);
    assert.equal(actionPowerLevel('ban', { content: {} }), 50);
    assert.equal(actionPowerLevel('redact', { content: {} }), 50);
    assert.equal(actionPowerLevel('invite', pl), 10);
    assert.equal(actionPowerLevel('kick', pl), 20);
  });

  test('the @room notification level defaults to 50', () => {
    assert.equal(notificationPowerLevel('room', undefined), 50);
    assert.equal(notificationPowerLevel('room', { content: { notifications: { room: 10 } } }), 10);
  });

  test('only safe integers count as power levels', () => {
    assert.equal(asPowerLevel(5), 5);
    assert.equal(asPowerLevel(-5), -5);
    assert.equal(asPowerLevel('5'), undefined);
    assert.equal(asPowerLevel(5.5), undefined);
    assert.equal(asPowerLevel(2 ** 53), undefined);
    assert.equal(asPowerLevel(null), undefined);
  });
});

describe('default power levels for new rooms', () => {
  test('give the creator 100 and set the usual event levels', () => {
    const content = defaultPowerLevelsContent(alice, 'private_chat');
    assert.deepEqual(content.users, { [alice]: 100 });
    assert.deepEqual(content.events, {
      'm.room.name': 50,
      'm.room.power_levels': 100,
      'm.room.history_visibility': 100,
      'm.room.canonical_alias': 50,
      'm.room.avatar': 50,
      'm.room.tombstone': 100,
      'm.room.server_acl': 100,
      'm.room.encryption': 100,
    });
    assert.equal(content.state_default, 50);
    assert.equal(content.events_default, 0);
    assert.equal(content.users_default, 0);
    assert.equal(content.ban, 50);
    assert.equal(content.kick, 50);
    assert.equal(content.redact, 50);
  });

  test('let members invite in private presets but not in public_chat', () => {
    assert.equal(defaultPowerLevelsContent(alice, 'private_chat').invite, 0);
    assert.equal(defaultPowerLevelsContent(alice, 'trusted_private_chat').invite, 0);
    assert.equal(defaultPowerLevelsContent(alice, 'public_chat').invite, 50);
  });

  test('give invitees the creator’s level only in trusted_private_chat', () => {
    assert.deepEqual(defaultPowerLevelsContent(alice, 'trusted_private_chat', [bob]).users, { [alice]: 100, [bob]: 100 });
    assert.deepEqual(defaultPowerLevelsContent(alice, 'private_chat', [bob]).users, { [alice]: 100 });
  });
});
