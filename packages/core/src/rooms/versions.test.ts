import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createEventContent,
  DEFAULT_ROOM_VERSION,
  isSupportedRoomVersion,
  placeRedacts,
  redactedEventId,
  roomCreator,
  roomVersionRules,
  roomVersionsCapability,
  SUPPORTED_ROOM_VERSIONS,
} from './versions.ts';

describe('room versions', () => {
  test('10 and 11 are supported, 11 is the default', () => {
    assert.deepEqual([...SUPPORTED_ROOM_VERSIONS], ['10', '11']);
    assert.equal(DEFAULT_ROOM_VERSION, '10');
    assert.ok(isSupportedRoomVersion('10') && isSupportedRoomVersion('11'));
    assert.ok(!isSupportedRoomVersion('9') && !isSupportedRoomVersion('12') && !isSupportedRoomVersion(11));
    assert.deepEqual(roomVersionsCapability(), { default: '10', available: { '10': 'stable', '11': 'stable' } });
  });

  test('v11 moves redacts into content and drops creator', () => {
    assert.equal(roomVersionRules('10').redactsInContent, false);
    assert.equal(roomVersionRules('11').redactsInContent, true);
    assert.equal(roomVersionRules('10').createHasCreator, true);
    assert.equal(roomVersionRules('11').createHasCreator, false);
  });

  test('create content carries creator only in v10, and the client cannot override version or creator', () => {
    assert.deepEqual(createEventContent('@a:hs', '10', { creator: '@x:hs', room_version: '1', 'm.federate': false }), { 'm.federate': false, creator: '@a:hs', room_version: '10' });
    assert.deepEqual(createEventContent('@a:hs', '11', { creator: '@x:hs', type: 'm.space' }), { type: 'm.space', room_version: '11' });
  });

  test('the creator is content.creator in v10 and the sender in v11', () => {
    const create = { sender: '@a:hs', content: { creator: '@b:hs' } };
    assert.equal(roomCreator(create, '10'), '@b:hs');
    assert.equal(roomCreator(create, '11'), '@a:hs');
    assert.equal(roomCreator({ sender: '@a:hs', content: {} }, '10'), '@a:hs');
  });

  test('the redacted event id is read from where the version puts it, falling back to the other place', () => {
    assert.equal(redactedEventId({ content: {}, redacts: '$t' }, '10'), '$t');
    assert.equal(redactedEventId({ content: { redacts: '$c' }, redacts: '$t' }, '10'), '$t');
    assert.equal(redactedEventId({ content: { redacts: '$c' }, redacts: '$t' }, '11'), '$c');
    assert.equal(redactedEventId({ content: {}, redacts: '$t' }, '11'), '$t');
    assert.equal(redactedEventId({ content: { redacts: '$c' } }, '10'), '$c');
    assert.equal(redactedEventId({ content: {} }, '11'), undefined);
  });

  test('new redaction events put redacts in content only in v11 and always at the top level', () => {
    assert.deepEqual(placeRedacts({ reason: 'r' }, '$t', '10'), { content: { reason: 'r' }, redacts: '$t' });
    assert.deepEqual(placeRedacts({ reason: 'r' }, '$t', '11'), { content: { reason: 'r', redacts: '$t' }, redacts: '$t' });
  });
});
