import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MatrixError } from './errors.ts';
import {
  composePushRuleset,
  defaultPushRules,
  deletePushRule,
  emptyPushRulesDocument,
  getPushRule,
  parsePushRulesDocument,
  putPushRule,
  setPushRuleActions,
  setPushRuleEnabled,
  type PushRuleInput,
  type PushRuleKind,
  type PushRulePosition,
  type PushRulesDocument,
} from './push-rules.ts';

const ALICE = '@alice:example.org';
const notify = { actions: ['notify'] } satisfies PushRuleInput;

/** Asserts that `fn` throws a MatrixError with `errcode`. */
function assertMatrixError(fn: () => unknown, errcode: string) {
  assert.throws(fn, (e: unknown) => e instanceof MatrixError && e.errcode === errcode);
}

/** Builds a document by adding user rules of one kind, each at the top. */
function withRules(kind: PushRuleKind, ...ids: string[]): PushRulesDocument {
  let doc = emptyPushRulesDocument();
  for (const id of [...ids].reverse()) doc = putPushRule(doc, kind, id, kind === 'content' ? { ...notify, pattern: id } : notify);
  return doc;
}

const ids = (doc: PushRulesDocument, kind: PushRuleKind) => composePushRuleset(doc, ALICE)[kind].map((r) => r.rule_id);

describe('push rule defaults', () => {
  const rules = defaultPushRules(ALICE);

  test('are the spec v1.11 rules, in spec order', () => {
    assert.deepEqual(
      rules.override.map((r) => r.rule_id),
      [
        '.m.rule.master',
        '.m.rule.suppress_notices',
        '.m.rule.invite_for_me',
        '.m.rule.member_event',
        '.m.rule.is_user_mention',
        '.m.rule.contains_display_name',
        '.m.rule.is_room_mention',
        '.m.rule.roomnotif',
        '.m.rule.tombstone',
        '.m.rule.reaction',
        '.m.rule.room.server_acl',
        '.m.rule.suppress_edits',
      ],
    );
    assert.deepEqual(rules.content.map((r) => r.rule_id), ['.m.rule.contains_user_name']);
    assert.deepEqual(rules.room, []);
    assert.deepEqual(rules.sender, []);
    assert.deepEqual(
      rules.underride.map((r) => r.rule_id),
      ['.m.rule.call', '.m.rule.encrypted_room_one_to_one', '.m.rule.room_one_to_one', '.m.rule.message', '.m.rule.encrypted'],
    );
  });

  test('are all marked default, and all enabled except the master rule', () => {
    for (const rule of [...rules.override, ...rules.content, ...rules.underride]) {
      assert.equal(rule.default, true, rule.rule_id);
      assert.equal(rule.enabled, rule.rule_id !== '.m.rule.master', rule.rule_id);
    }
  });

  test('put the user id and localpart where the spec says', () => {
    const byId = (id: string) => [...rules.override, ...rules.content].find((r) => r.rule_id === id)!;
    assert.equal(byId('.m.rule.contains_user_name').pattern, 'alice');
    assert.deepEqual(byId('.m.rule.invite_for_me').conditions![2], { kind: 'event_match', key: 'state_key', pattern: ALICE });
    assert.deepEqual(byId('.m.rule.is_user_mention').conditions, [
      { kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: ALICE },
    ]);
  });

  test('match the spec definitions of a few rules exactly', () => {
    assert.deepEqual(rules.override[0], { rule_id: '.m.rule.master', default: true, enabled: false, conditions: [], actions: [] });
    assert.deepEqual(rules.underride.find((r) => r.rule_id === '.m.rule.message'), {
      rule_id: '.m.rule.message',
      default: true,
      enabled: true,
      conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.room.message' }],
      actions: ['notify'],
    });
    assert.deepEqual(rules.underride[0]!.actions, ['notify', { set_tweak: 'sound', value: 'ring' }]);
  });

  test('are fresh objects on every call', () => {
    defaultPushRules(ALICE).override[4]!.actions.push('coalesce');
    assert.equal(defaultPushRules(ALICE).override[4]!.actions.length, 3);
  });
});

describe('composing the ruleset', () => {
  test('puts the master rule first, then user override rules, then the other defaults', () => {
    const override = ids(withRules('override', 'mine'), 'override');
    assert.deepEqual(override.slice(0, 3), ['.m.rule.master', 'mine', '.m.rule.suppress_notices']);
  });

  for (const kind of ['content', 'underride'] as const) {
    test(`puts user ${kind} rules before the server defaults`, () => {
      const list = ids(withRules(kind, 'a', 'b'), kind);
      assert.deepEqual(list.slice(0, 2), ['a', 'b']);
      assert.ok(list.slice(2).every((id) => id.startsWith('.')));
    });
  }

  test('shows room and sender rules with their actions only', () => {
    const doc = putPushRule(emptyPushRulesDocument(), 'room', '!room:example.org', { actions: [], conditions: [], pattern: 'x' });
    assert.deepEqual(composePushRuleset(doc, ALICE).room, [{ rule_id: '!room:example.org', default: false, enabled: true, actions: [] }]);
  });
});

describe('adding a rule', () => {
  const cases: { name: string; start: string[]; id: string; position?: PushRulePosition; expected: string[] }[] = [
    { name: 'a new rule goes first', start: ['a', 'b'], id: 'n', expected: ['n', 'a', 'b'] },
    { name: 'before puts it just above the named rule', start: ['a', 'b', 'c'], id: 'n', position: { before: 'b' }, expected: ['a', 'n', 'b', 'c'] },
    { name: 'after puts it just below the named rule', start: ['a', 'b', 'c'], id: 'n', position: { after: 'b' }, expected: ['a', 'b', 'n', 'c'] },
    { name: 'after the last rule goes last', start: ['a', 'b'], id: 'n', position: { after: 'b' }, expected: ['a', 'b', 'n'] },
    { name: 'before wins over after', start: ['a', 'b', 'c'], id: 'n', position: { before: 'a', after: 'c' }, expected: ['n', 'a', 'b', 'c'] },
    { name: 'replacing keeps the place', start: ['a', 'b', 'c'], id: 'b', expected: ['a', 'b', 'c'] },
    { name: 'replacing with before moves it', start: ['a', 'b', 'c'], id: 'c', position: { before: 'a' }, expected: ['c', 'a', 'b'] },
    { name: 'replacing with after moves it', start: ['a', 'b', 'c'], id: 'a', position: { after: 'c' }, expected: ['b', 'c', 'a'] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const doc = putPushRule(withRules('override', ...c.start), 'override', c.id, notify, c.position);
      assert.deepEqual(doc.rules.override.map((r) => r.rule_id), c.expected);
    });
  }

  test('a new rule is enabled; replacing keeps a disabled rule disabled but takes the new actions', () => {
    let doc = putPushRule(emptyPushRulesDocument(), 'underride', 'u', { actions: ['notify'], conditions: [{ kind: 'event_match', key: 'type', pattern: 'x' }] });
    assert.equal(getPushRule(doc, ALICE, 'underride', 'u').enabled, true);
    doc = setPushRuleEnabled(doc, 'underride', 'u', false);
    doc = putPushRule(doc, 'underride', 'u', { actions: [] });
    assert.deepEqual(getPushRule(doc, ALICE, 'underride', 'u'), { rule_id: 'u', default: false, enabled: false, actions: [], conditions: [] });
  });

  test('keeps only the fields its kind uses', () => {
    const input = { actions: ['notify'], conditions: [{ kind: 'event_match', key: 'type', pattern: 'x' }], pattern: 'cake' };
    assert.deepEqual(putPushRule(emptyPushRulesDocument(), 'content', 'c', input).rules.content[0], {
      rule_id: 'c',
      enabled: true,
      actions: ['notify'],
      pattern: 'cake',
    });
    assert.equal(putPushRule(emptyPushRulesDocument(), 'override', 'o', input).rules.override[0]!.pattern, undefined);
  });

  test('does not change the document it was given', () => {
    const doc = withRules('override', 'a');
    putPushRule(doc, 'override', 'b', notify);
    assert.deepEqual(doc.rules.override.map((r) => r.rule_id), ['a']);
  });

  const refusals: { name: string; kind?: PushRuleKind; id?: string; input?: PushRuleInput; position?: PushRulePosition; errcode: string }[] = [
    { name: 'a server-default rule id', id: '.m.rule.message', errcode: 'M_INVALID_PARAM' },
    { name: 'a rule id with a slash', id: 'a/b', errcode: 'M_INVALID_PARAM' },
    { name: 'a rule id with a backslash', id: 'a\\b', errcode: 'M_INVALID_PARAM' },
    { name: 'an empty rule id', id: '', errcode: 'M_INVALID_PARAM' },
    { name: 'a rule id over 255 characters', id: 'x'.repeat(256), errcode: 'M_INVALID_PARAM' },
    { name: 'before naming an unknown rule', position: { before: 'nope' }, errcode: 'M_NOT_FOUND' },
    { name: 'after naming an unknown rule', position: { after: 'nope' }, errcode: 'M_NOT_FOUND' },
    { name: 'before naming a server-default rule', position: { before: '.m.rule.master' }, errcode: 'M_INVALID_PARAM' },
    { name: 'after naming the rule itself', id: 'a', position: { after: 'a' }, errcode: 'M_INVALID_PARAM' },
    { name: 'a content rule without a pattern', kind: 'content', errcode: 'M_MISSING_PARAM' },
    { name: 'a content rule with an empty pattern', kind: 'content', input: { actions: [], pattern: '' }, errcode: 'M_INVALID_PARAM' },
    { name: 'a room rule whose id is not a room id', kind: 'room', id: 'lunch', errcode: 'M_INVALID_PARAM' },
    { name: 'a sender rule whose id is not a user id', kind: 'sender', id: 'bob', errcode: 'M_INVALID_PARAM' },
    { name: 'an unknown action', input: { actions: ['explode'] }, errcode: 'M_INVALID_PARAM' },
    { name: 'a tweak without a name', input: { actions: [{ set_tweak: '' }] }, errcode: 'M_INVALID_PARAM' },
    { name: 'too many actions', input: { actions: Array(21).fill('notify') }, errcode: 'M_INVALID_PARAM' },
    { name: 'a huge tweak value', input: { actions: [{ set_tweak: 'sound', value: 'x'.repeat(9000) }] }, errcode: 'M_TOO_LARGE' },
    { name: 'an event_match without a pattern', input: { actions: [], conditions: [{ kind: 'event_match', key: 'type' }] }, errcode: 'M_INVALID_PARAM' },
    { name: 'a room_member_count with a bad "is"', input: { actions: [], conditions: [{ kind: 'room_member_count', is: 'two' }] }, errcode: 'M_INVALID_PARAM' },
    {
      name: 'an event_property_is with a float value',
      input: { actions: [], conditions: [{ kind: 'event_property_is', key: 'content.x', value: 1.5 }] },
      errcode: 'M_INVALID_PARAM',
    },
    { name: 'too many conditions', input: { actions: [], conditions: Array(21).fill({ kind: 'contains_display_name' }) }, errcode: 'M_INVALID_PARAM' },
  ];
  for (const r of refusals) {
    test(`refuses ${r.name}`, () => {
      assertMatrixError(() => putPushRule(withRules('override', 'a'), r.kind ?? 'override', r.id ?? 'new', r.input ?? notify, r.position), r.errcode);
    });
  }

  test('accepts the legacy no-op actions and conditions of kinds it does not know', () => {
    const input = { actions: ['dont_notify', 'coalesce'], conditions: [{ kind: 'org.example.future', anything: { goes: 1 } }] };
    const rule = getPushRule(putPushRule(emptyPushRulesDocument(), 'override', 'o', input), ALICE, 'override', 'o');
    assert.deepEqual(rule.conditions, input.conditions);
    assert.deepEqual(rule.actions, input.actions);
  });

  test('refuses to grow the document past its limit', () => {
    let doc = emptyPushRulesDocument();
    const big = { actions: [{ set_tweak: 'sound', value: 'x'.repeat(7000) }] };
    assertMatrixError(() => {
      for (let i = 0; i < 200; i++) doc = putPushRule(doc, 'override', `r${i}`, big);
    }, 'M_TOO_LARGE');
    assert.ok(doc.rules.override.length > 100);
  });
});

describe('reading, deleting and changing rules', () => {
  test('getPushRule finds user and default rules, of the right kind only', () => {
    const doc = withRules('content', 'cake');
    assert.equal(getPushRule(doc, ALICE, 'content', 'cake').pattern, 'cake');
    assert.equal(getPushRule(doc, ALICE, 'content', '.m.rule.contains_user_name').default, true);
    assertMatrixError(() => getPushRule(doc, ALICE, 'override', 'cake'), 'M_NOT_FOUND');
    assertMatrixError(() => getPushRule(doc, ALICE, 'content', '.m.rule.master'), 'M_NOT_FOUND');
  });

  const deletions: { name: string; id: string; errcode?: string }[] = [
    { name: 'a user rule is deleted', id: 'b' },
    { name: 'an unknown rule is not found', id: 'zzz', errcode: 'M_NOT_FOUND' },
    { name: 'a server-default rule cannot be deleted', id: '.m.rule.master', errcode: 'M_INVALID_PARAM' },
    { name: 'an unknown dotted rule cannot be deleted either', id: '.nope', errcode: 'M_INVALID_PARAM' },
  ];
  for (const d of deletions) {
    test(d.name, () => {
      const doc = withRules('override', 'a', 'b', 'c');
      if (d.errcode) return assertMatrixError(() => deletePushRule(doc, 'override', d.id), d.errcode);
      assert.deepEqual(deletePushRule(doc, 'override', d.id).rules.override.map((r) => r.rule_id), ['a', 'c']);
    });
  }

  test('enabling the master rule is remembered, and resetting it stores nothing', () => {
    let doc = setPushRuleEnabled(emptyPushRulesDocument(), 'override', '.m.rule.master', true);
    assert.equal(getPushRule(doc, ALICE, 'override', '.m.rule.master').enabled, true);
    assert.deepEqual(doc.defaults, { '.m.rule.master': { enabled: true } });
    doc = setPushRuleEnabled(doc, 'override', '.m.rule.master', false);
    assert.deepEqual(doc.defaults, {});
  });

  test('changing a default rule’s actions keeps its conditions and its default flag', () => {
    const doc = setPushRuleActions(emptyPushRulesDocument(), 'underride', '.m.rule.message', []);
    const rule = getPushRule(doc, ALICE, 'underride', '.m.rule.message');
    assert.deepEqual(rule.actions, []);
    assert.equal(rule.default, true);
    assert.equal(rule.conditions!.length, 1);
    assert.deepEqual(setPushRuleActions(doc, 'underride', '.m.rule.message', ['notify']).defaults, {});
  });

  test('changing a user rule’s enabled state and actions', () => {
    let doc = withRules('override', 'a');
    doc = setPushRuleEnabled(doc, 'override', 'a', false);
    doc = setPushRuleActions(doc, 'override', 'a', ['notify', { set_tweak: 'highlight', value: false }]);
    assert.deepEqual(getPushRule(doc, ALICE, 'override', 'a'), {
      rule_id: 'a',
      default: false,
      enabled: false,
      actions: ['notify', { set_tweak: 'highlight', value: false }],
      conditions: [],
    });
  });

  const changeRefusals: { name: string; change: (doc: PushRulesDocument) => unknown; errcode: string }[] = [
    { name: 'enabling an unknown rule', change: (d) => setPushRuleEnabled(d, 'override', 'nope', true), errcode: 'M_NOT_FOUND' },
    { name: 'enabling a default rule under the wrong kind', change: (d) => setPushRuleEnabled(d, 'content', '.m.rule.master', true), errcode: 'M_NOT_FOUND' },
    { name: 'setting actions of an unknown rule', change: (d) => setPushRuleActions(d, 'room', '!x:y', []), errcode: 'M_NOT_FOUND' },
    { name: 'setting an unknown action', change: (d) => setPushRuleActions(d, 'override', 'a', ['nope']), errcode: 'M_INVALID_PARAM' },
  ];
  for (const c of changeRefusals) {
    test(`refuses ${c.name}`, () => assertMatrixError(() => c.change(withRules('override', 'a')), c.errcode));
  }
});

describe('reading a stored document', () => {
  const cases: { name: string; stored: unknown }[] = [
    { name: 'nothing stored', stored: undefined },
    { name: 'not an object', stored: 'garbage' },
    { name: 'rules of the wrong shape', stored: { rules: { override: [{ nope: 1 }, 'x'], content: 'x' }, defaults: [] } },
    { name: 'changes to rules that are not server defaults', stored: JSON.parse('{"defaults":{"__proto__":{"enabled":true},"mine":{"enabled":true}}}') },
  ];
  for (const c of cases) {
    test(`treats ${c.name} as no changes`, () => assert.deepEqual(parsePushRulesDocument(c.stored), emptyPushRulesDocument()));
  }

  test('round-trips through JSON', () => {
    let doc = withRules('content', 'cake');
    doc = setPushRuleEnabled(doc, 'override', '.m.rule.suppress_notices', false);
    assert.deepEqual(parsePushRulesDocument(JSON.parse(JSON.stringify(doc))), doc);
  });
});
