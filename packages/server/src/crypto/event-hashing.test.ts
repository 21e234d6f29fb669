import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { redactEvent } from '../../../core/src/rooms/index.ts';
import {
  buildEvent,
  computeContentHash,
  computeEventId,
  computeReferenceHash,
  hasValidContentHash,
  signEvent,
  verifyEventSignature,
  type EventDraft,
} from './event-hashing.ts';
import { loadOrCreateSigningKey, signJson, verifyJsonSignature } from './signing-key.ts';

// Spec appendices, "Cryptographic Test Vectors": seed, server name "domain", key id "ed25519:1".
const dir = mkdtempSync(join(tmpdir(), 'caduceus-event-hashing-'));
writeFileSync(join(dir, 'signing.key'), 'ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1\n');
const key = loadOrCreateSigningKey(dir);
after(() => rmSync(dir, { recursive: true, force: true }));

const signaturesOf = (signed: object) => (signed as { signatures: Record<string, Record<string, string>> }).signatures;

describe('the spec’s cryptographic test vectors', () => {
  test('JSON signing', () => {
    assert.deepEqual(signaturesOf(signJson({}, 'domain', key)), {
      domain: { 'ed25519:1': 'K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ' },
    });
    assert.deepEqual(signaturesOf(signJson({ one: 1, two: 'Two' }, 'domain', key)), {
      domain: { 'ed25519:1': 'KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw' },
    });
  });

  test('event signing of the minimal event (v10 redaction keeps `origin`, as the vector needs)', () => {
    const event: Record<string, unknown> = {
      room_id: '!x:domain',
      sender: '@a:domain',
      origin: 'domain',
      origin_server_ts: 1000000,
      signatures: {},
      hashes: {},
      type: 'X',
      content: {},
      prev_events: [],
      auth_events: [],
      depth: 3,
      unsigned: { age_ts: 1000000 },
    };
    const hashed = { ...event, hashes: { sha256: computeContentHash(event) } };
    assert.equal(hashed.hashes.sha256, '5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos');
    const signed = signEvent(hashed, '10', 'domain', key);
    assert.deepEqual(signed, {
      auth_events: [],
      content: {},
      depth: 3,
      hashes: { sha256: '5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos' },
      origin: 'domain',
      origin_server_ts: 1000000,
      prev_events: [],
      room_id: '!x:domain',
      sender: '@a:domain',
      signatures: { domain: { 'ed25519:1': 'KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg' } },
      type: 'X',
      unsigned: { age_ts: 1000000 },
    });
    // v11 no longer protects `origin`, so its signature covers less and differs, but still verifies.
    const signed11 = signEvent(hashed, '11', 'domain', key);
    assert.notEqual(signaturesOf(signed11).domain?.['ed25519:1'], signaturesOf(signed).domain?.['ed25519:1']);
    assert.ok(verifyEventSignature(signed11, '11', 'domain', 'ed25519:1', key.publicKeyBase64));
  });

  test('event signing of the message event (an older event format with `event_id` in the signed object)', () => {
    // Our event ids are derived, so signEvent leaves `event_id` out; this vector is for event formats
    // that carried it. The redaction algorithm plus signJson must still reproduce the spec's signature.
    const event = {
      content: { body: 'Here is the message content' },
      event_id: '$0:domain',
      hashes: { sha256: 'onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g' },
      origin: 'domain',
      origin_server_ts: 1000000,
      type: 'm.room.message',
      room_id: '!r:domain',
      sender: '@u:domain',
      signatures: {},
      unsigned: { age_ts: 1000000 },
    };
    assert.deepEqual(signaturesOf(signJson(redactEvent(event, '10'), 'domain', key)), {
      domain: { 'ed25519:1': 'Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA' },
    });
  });
});

const draft = (overrides: Partial<EventDraft> = {}): EventDraft => ({
  room_id: '!room:hs.example',
  type: 'm.room.message',
  sender: '@alice:hs.example',
  origin_server_ts: 1700000000000,
  content: { msgtype: 'm.text', body: 'Blood pressure reading is ready' },
  depth: 5,
  prev_events: ['$prev'],
  auth_events: ['$create', '$pl', '$member'],
  ...overrides,
});

for (const version of ['10', '11'] as const) {
  describe(`building events, room version ${version}`, () => {
    const event = buildEvent(draft(), version, 'hs.example', key);

    test('gives a $-prefixed URL-safe unpadded base64 event id of a sha256', () => {
      assert.match(event.event_id, /^\$[A-Za-z0-9_-]{43}$/);
      assert.equal(event.event_id, computeEventId(event, version));
      assert.equal(computeReferenceHash(event, version).length, 32);
    });

    test('carries a valid content hash and a signature over the redacted event', () => {
      assert.ok(hasValidContentHash(event));
      const { event_id: _id, ...pdu } = event;
      assert.ok(verifyJsonSignature(redactEvent(pdu, version), 'hs.example', key.keyId, key.publicKeyBase64));
      assert.ok(verifyEventSignature(event, version, 'hs.example', key.keyId, key.publicKeyBase64));
    });

    test('the signature and event id survive redaction, the content hash does not', () => {
      const redacted = redactEvent(event, version);
      assert.ok(verifyEventSignature(redacted, version, 'hs.example', key.keyId, key.publicKeyBase64));
      assert.equal(computeEventId(redacted, version), event.event_id);
      assert.ok(!hasValidContentHash(redacted));
    });

    test('changing content changes the content hash and so the event id', () => {
      const other = buildEvent(draft({ content: { msgtype: 'm.text', body: 'Something else' } }), version, 'hs.example', key);
      assert.notEqual(other.hashes.sha256, event.hashes.sha256);
      assert.notEqual(other.event_id, event.event_id);
    });

    test('with the hashes held fixed, a key that redaction removes does not change the event id', () => {
      const tampered = { ...event, content: { ...event.content, body: 'tampered' } };
      assert.equal(computeEventId(tampered, version), event.event_id);
      assert.ok(!hasValidContentHash(tampered));
      assert.ok(verifyEventSignature(tampered, version, 'hs.example', key.keyId, key.publicKeyBase64));
    });

    test('a key that redaction keeps changes the event id and breaks the signature', () => {
      const tampered = { ...event, sender: '@mallory:hs.example' };
      assert.notEqual(computeEventId(tampered, version), event.event_id);
      assert.ok(!verifyEventSignature(tampered, version, 'hs.example', key.keyId, key.publicKeyBase64));
    });

    test('unsigned, signatures and the event id itself do not affect the hashes', () => {
      const decorated = { ...event, event_id: '$other', unsigned: { age: 10 }, signatures: { 'x.example': { 'ed25519:a': 'sig' } } };
      assert.equal(computeContentHash(decorated), event.hashes.sha256);
      assert.equal(computeEventId(decorated, version), event.event_id);
      const withUnsigned = buildEvent(draft({ unsigned: { transaction_id: 't1' } }), version, 'hs.example', key);
      assert.equal(withUnsigned.event_id, event.event_id);
      assert.deepEqual(withUnsigned.unsigned, { transaction_id: 't1' });
    });

    test('state events keep their state key', () => {
      const state = buildEvent(draft({ type: 'm.room.topic', state_key: '', content: { topic: 't' } }), version, 'hs.example', key);
      assert.equal(state.state_key, '');
      assert.ok(hasValidContentHash(state));
    });
  });
}

describe('redaction events', () => {
  test('v11 puts redacts in content (and keeps the top-level copy); the event id covers content.redacts', () => {
    const event = buildEvent(draft({ type: 'm.room.redaction', content: { reason: 'wrong patient' }, redacts: '$target' }), '11', 'hs.example', key);
    assert.deepEqual(event.content, { reason: 'wrong patient', redacts: '$target' });
    assert.equal(event.redacts, '$target');
    const other = buildEvent(draft({ type: 'm.room.redaction', content: { reason: 'wrong patient' }, redacts: '$other' }), '11', 'hs.example', key);
    assert.notEqual(redactEvent(other, '11').content.redacts, redactEvent(event, '11').content.redacts);
  });

  test('v10 keeps redacts at the top level and leaves content as given', () => {
    const event = buildEvent(draft({ type: 'm.room.redaction', content: { reason: 'r' }, redacts: '$target' }), '10', 'hs.example', key);
    assert.deepEqual(event.content, { reason: 'r' });
    assert.equal(event.redacts, '$target');
  });

  test('a target given only in content is also copied to the top level', () => {
    const event = buildEvent(draft({ type: 'm.room.redaction', content: { redacts: '$target' } }), '10', 'hs.example', key);
    assert.equal(event.redacts, '$target');
  });
});
