import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalJson, compareCodePoints, decodeUnpaddedBase64, encodeUnpaddedBase64, isValidNewLocalpart, isValidRoomId, parseUserId } from './index.ts';

describe('canonical JSON', () => {
  test('matches the spec examples', () => {
    assert.equal(canonicalJson({}), '{}');
    assert.equal(canonicalJson({ one: 1, two: 'Two' }), '{"one":1,"two":"Two"}');
    assert.equal(canonicalJson({ b: '2', a: '1' }), '{"a":"1","b":"2"}');
    assert.equal(
      canonicalJson({ auth: { success: true, mxid: '@john.doe:example.com', profile: { display_name: 'John Doe', three_pids: [{ medium: 'email', address: 'john.doe@example.org' }, { medium: 'msisdn', address: '123456789' }] } } }),
      '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}',
    );
    assert.equal(canonicalJson({ a: '日本語' }), '{"a":"日本語"}');
    assert.equal(canonicalJson({ 本: 2, 日: 1 }), '{"日":1,"本":2}');
    assert.equal(canonicalJson({ a: '\u1234' }), '{"a":"ሴ"}');
    assert.equal(canonicalJson({ a: '\u0000' }), '{"a":"\\u0000"}');
    assert.equal(canonicalJson({ a: null }), '{"a":null}');
    assert.equal(canonicalJson({ a: -0 }), '{"a":0}');
  });

  test('orders keys by code point, not UTF-16 unit', () => {
    // U+FF61 sorts before U+1F600 by code point, but after it by UTF-16 unit (0xD83D < 0xFF61).
    assert.ok(compareCodePoints('\uff61', '\u{1f600}') < 0);
    assert.equal(canonicalJson({ '\u{1f600}': 1, '\uff61': 2 }), '{"\uff61":2,"\u{1f600}":1}');
  });

  test('the code point order agrees with comparing code point by code point, on mixed and prefix strings', () => {
    const byCodePoints = (a: string, b: string) => {
      const ca = [...a].map((c) => c.codePointAt(0)!);
      const cb = [...b].map((c) => c.codePointAt(0)!);
      for (let i = 0; i < Math.min(ca.length, cb.length); i++) if (ca[i] !== cb[i]) return Math.sign(ca[i]! - cb[i]!);
      return Math.sign(ca.length - cb.length);
    };
    // Units from every range whose order matters: ASCII, below and above the surrogates, astral.
    const pieces = ['a', 'z', '\u00e9', '\ud7ff', '\ue000', '\uffff', '\uff61', '\u{10000}', '\u{1f600}', '\u{10ffff}'];
    let seed = 7;
    const pick = () => pieces[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % pieces.length]!;
    const word = () => Array.from({ length: 1 + (seed % 3) }, pick).join('');
    for (let i = 0; i < 2000; i++) {
      const a = word();
      const b = i % 5 === 0 ? a + word() : word();
      assert.equal(Math.sign(compareCodePoints(a, b)), byCodePoints(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
      assert.equal(Math.sign(compareCodePoints(b, a)), byCodePoints(b, a));
    }
  });

  test('refuses values that have no canonical form', () => {
    assert.throws(() => canonicalJson({ a: 1.5 }));
    assert.throws(() => canonicalJson({ a: 2 ** 53 }));
    assert.throws(() => canonicalJson({ a: () => 1 }));
  });
});

describe('identifiers', () => {
  test('user ids', () => {
    assert.deepEqual(parseUserId('@alice:example.org'), { localpart: 'alice', serverName: 'example.org' });
    assert.deepEqual(parseUserId('@a:[::1]:8448'), { localpart: 'a', serverName: '[::1]:8448' });
    for (const bad of ['alice:example.org', '@:example.org', '@alice', '@al ice:example.org', `@${'a'.repeat(260)}:x.org`]) {
      assert.equal(parseUserId(bad), undefined, bad);
    }
    assert.ok(isValidNewLocalpart('dr.house_md-1=/+'));
    for (const bad of ['Alice', 'al ice', 'émile', '']) assert.equal(isValidNewLocalpart(bad), false, bad);
  });

  test('room ids', () => {
    assert.ok(isValidRoomId('!abc:example.org'));
    for (const bad of ['abc:example.org', '!abc', '!:example.org', '!abc:bad host']) assert.equal(isValidRoomId(bad), false, bad);
  });
});

describe('unpadded base64', () => {
  test('round-trips and matches the spec examples', () => {
    const cases: [string, string][] = [['', ''], ['f', 'Zg'], ['fo', 'Zm8'], ['foo', 'Zm9v'], ['foob', 'Zm9vYg'], ['fooba', 'Zm9vYmE'], ['foobar', 'Zm9vYmFy']];
    for (const [plain, encoded] of cases) {
      const bytes = new TextEncoder().encode(plain);
      assert.equal(encodeUnpaddedBase64(bytes), encoded);
      assert.deepEqual(decodeUnpaddedBase64(encoded), bytes);
    }
    assert.deepEqual(decodeUnpaddedBase64('Zm8='), new TextEncoder().encode('fo'));
    assert.throws(() => decodeUnpaddedBase64('Z!'));
  });
});
