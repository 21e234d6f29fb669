/**
 * Push rules (spec: "Push Rules", Client-Server API v1.11): the server-default rule set and the pure
 * operations on a user's rules. A user's rules are kept as one small document holding only what the
 * user changed — their own rules, and the `enabled`/`actions` they set on server-default rules — so
 * the defaults can follow newer spec versions without rewriting stored documents.
 * Runtime-free: no Node APIs, so the web app can use the same rules.
 */
import { MatrixError } from './errors.ts';
import { parseUserId } from './ids.ts';

export const PUSH_RULE_KINDS = ['override', 'content', 'room', 'sender', 'underride'] as const;
export type PushRuleKind = (typeof PUSH_RULE_KINDS)[number];

/** `{set_tweak, value?}`; tweaks pass through to push gateways, so other keys are kept. */
export interface PushTweakAction {
  set_tweak: string;
  value?: unknown;
  [key: string]: unknown;
}
/** `notify` (and the no-op legacy `dont_notify` / `coalesce`), or a tweak. */
export type PushAction = string | PushTweakAction;

export interface PushCondition {
  kind: string;
  key?: string;
  pattern?: string;
  is?: string;
  /** A string, an integer, a boolean or null for the event_property_* kinds. */
  value?: unknown;
  /** Parameters of condition kinds we do not know are kept: such conditions never match. */
  [key: string]: unknown;
}

/** A rule as clients see it. */
export interface PushRule {
  rule_id: string;
  default: boolean;
  enabled: boolean;
  actions: PushAction[];
  /** override and underride rules only. */
  conditions?: PushCondition[];
  /** content rules only. */
  pattern?: string;
}

export type PushRuleset = Record<PushRuleKind, PushRule[]>;

/** A user-defined rule as stored (its `default` is always false). */
export type StoredPushRule = Omit<PushRule, 'default'>;

/** What a user changed on a server-default rule. */
export interface DefaultPushRuleChange {
  enabled?: boolean;
  actions?: PushAction[];
}

/** A user's push-rule document: the stored form. */
export interface PushRulesDocument {
  version: 1;
  /** The user's own rules per kind, most important first. */
  rules: Record<PushRuleKind, StoredPushRule[]>;
  /** Changes to server-default rules, by rule id (server-default ids are unique across kinds). */
  defaults: Record<string, DefaultPushRuleChange>;
}

/** The body of `PUT .../pushrules/global/{kind}/{ruleId}`. */
export interface PushRuleInput {
  actions: PushAction[];
  conditions?: PushCondition[];
  pattern?: string;
}

export interface PushRulePosition {
  before?: string;
  after?: string;
}

export const MAX_PUSH_RULE_ID_LENGTH = 255;
export const MAX_PUSH_ACTIONS = 20;
export const MAX_PUSH_CONDITIONS = 20;
/** One rule's JSON, in bytes; tweak values are free-form, so they are bounded here. */
export const MAX_PUSH_RULE_BYTES = 8 * 1024;
/** A user's whole document, in bytes (about 5000 ordinary rules; clients add one per muted room). */
export const MAX_PUSH_RULES_DOCUMENT_BYTES = 1024 * 1024;

export function isPushRuleKind(kind: string): kind is PushRuleKind {
  return (PUSH_RULE_KINDS as readonly string[]).includes(kind);
}

// ---------------------------------------------------------------------------------------------
// Server-default rules

const eventMatch = (key: string, pattern: string): PushCondition => ({ kind: 'event_match', key, pattern });
const notifySound = (sound: string): PushAction[] => ['notify', { set_tweak: 'sound', value: sound }];
const notifyHighlight = (): PushAction[] => ['notify', { set_tweak: 'highlight' }];
const notifySoundHighlight = (): PushAction[] => ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight' }];

function serverRule(rule_id: string, actions: PushAction[], extra: { enabled?: boolean; conditions?: PushCondition[]; pattern?: string }): PushRule {
  return { rule_id, default: true, enabled: extra.enabled ?? true, ...extra, actions };
}

/** The spec's server-default rules for `userId`, in spec order (override, content, underride). */
export function defaultPushRules(userId: string): PushRuleset {
  const localpart = parseUserId(userId)?.localpart ?? userId.replace(/^@/, '').split(':')[0] ?? userId;
  return {
    override: [
      serverRule('.m.rule.master', [], { enabled: false, conditions: [] }),
      serverRule('.m.rule.suppress_notices', [], { conditions: [eventMatch('content.msgtype', 'm.notice')] }),
      serverRule('.m.rule.invite_for_me', notifySound('default'), {
        conditions: [eventMatch('type', 'm.room.member'), eventMatch('content.membership', 'invite'), eventMatch('state_key', userId)],
      }),
      serverRule('.m.rule.member_event', [], { conditions: [eventMatch('type', 'm.room.member')] }),
      serverRule('.m.rule.is_user_mention', notifySoundHighlight(), {
        conditions: [{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: userId }],
      }),
      serverRule('.m.rule.contains_display_name', notifySoundHighlight(), { conditions: [{ kind: 'contains_display_name' }] }),
      serverRule('.m.rule.is_room_mention', notifyHighlight(), {
        conditions: [
          { kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true },
          { kind: 'sender_notification_permission', key: 'room' },
        ],
      }),
      serverRule('.m.rule.roomnotif', notifyHighlight(), {
        conditions: [eventMatch('content.body', '@room'), { kind: 'sender_notification_permission', key: 'room' }],
      }),
      serverRule('.m.rule.tombstone', notifyHighlight(), { conditions: [eventMatch('type', 'm.room.tombstone'), eventMatch('state_key', '')] }),
      serverRule('.m.rule.reaction', [], { conditions: [eventMatch('type', 'm.reaction')] }),
      serverRule('.m.rule.room.server_acl', [], { conditions: [eventMatch('type', 'm.room.server_acl'), eventMatch('state_key', '')] }),
      serverRule('.m.rule.suppress_edits', [], {
        conditions: [{ kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.replace' }],
      }),
    ],
    content: [serverRule('.m.rule.contains_user_name', notifySoundHighlight(), { pattern: localpart })],
    room: [],
    sender: [],
    underride: [
      serverRule('.m.rule.call', notifySound('ring'), { conditions: [eventMatch('type', 'm.call.invite')] }),
      serverRule('.m.rule.encrypted_room_one_to_one', notifySound('default'), {
        conditions: [{ kind: 'room_member_count', is: '2' }, eventMatch('type', 'm.room.encrypted')],
      }),
      serverRule('.m.rule.room_one_to_one', notifySound('default'), {
        conditions: [{ kind: 'room_member_count', is: '2' }, eventMatch('type', 'm.room.message')],
      }),
      serverRule('.m.rule.message', ['notify'], { conditions: [eventMatch('type', 'm.room.message')] }),
      serverRule('.m.rule.encrypted', ['notify'], { conditions: [eventMatch('type', 'm.room.encrypted')] }),
    ],
  };
}

/** The server-default rules with nothing user-specific in `enabled`/`actions`, to check ids and reset values. */
const SERVER_DEFAULTS = defaultPushRules('@_:_');
const MASTER_RULE_ID = '.m.rule.master';

function serverDefault(kind: PushRuleKind, ruleId: string): PushRule | undefined {
  return SERVER_DEFAULTS[kind].find((r) => r.rule_id === ruleId);
}

// ---------------------------------------------------------------------------------------------
// The stored document

export function emptyPushRulesDocument(): PushRulesDocument {
  return { version: 1, rules: { override: [], content: [], room: [], sender: [], underride: [] }, defaults: {} };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a stored document leniently: nothing stored (or something unreadable) means no changes. */
export function parsePushRulesDocument(stored: unknown): PushRulesDocument {
  const doc = emptyPushRulesDocument();
  if (!isRecord(stored)) return doc;
  const rules = isRecord(stored.rules) ? stored.rules : {};
  for (const kind of PUSH_RULE_KINDS) {
    const list = rules[kind];
    if (!Array.isArray(list)) continue;
    doc.rules[kind] = list.filter(
      (r): r is StoredPushRule => isRecord(r) && typeof r.rule_id === 'string' && typeof r.enabled === 'boolean' && Array.isArray(r.actions),
    );
  }
  const defaults = isRecord(stored.defaults) ? stored.defaults : {};
  for (const kind of PUSH_RULE_KINDS) {
    for (const { rule_id } of SERVER_DEFAULTS[kind]) {
      const change = Object.hasOwn(defaults, rule_id) ? defaults[rule_id] : undefined;
      if (!isRecord(change)) continue;
      const kept: DefaultPushRuleChange = {};
      if (typeof change.enabled === 'boolean') kept.enabled = change.enabled;
      if (Array.isArray(change.actions)) kept.actions = change.actions as PushAction[];
      doc.defaults[rule_id] = kept;
    }
  }
  return doc;
}

// ---------------------------------------------------------------------------------------------
// Reading

function userRule(rule: StoredPushRule): PushRule {
  return { ...rule, default: false, actions: [...rule.actions] };
}

function defaultRuleFor(doc: PushRulesDocument, rule: PushRule): PushRule {
  const change = Object.hasOwn(doc.defaults, rule.rule_id) ? doc.defaults[rule.rule_id] : undefined;
  return { ...rule, enabled: change?.enabled ?? rule.enabled, actions: [...(change?.actions ?? rule.actions)] };
}

/**
 * The full ruleset in evaluation order: `.m.rule.master` first, then user rules before the server
 * defaults of the same kind (override user rules come before the other default override rules).
 */
export function composePushRuleset(doc: PushRulesDocument, userId: string): PushRuleset {
  const defaults = defaultPushRules(userId);
  const withChanges = (kind: PushRuleKind) => defaults[kind].map((r) => defaultRuleFor(doc, r));
  const user = (kind: PushRuleKind) => doc.rules[kind].map(userRule);
  const overrides = withChanges('override');
  return {
    override: [
      ...overrides.filter((r) => r.rule_id === MASTER_RULE_ID),
      ...user('override'),
      ...overrides.filter((r) => r.rule_id !== MASTER_RULE_ID),
    ],
    content: [...user('content'), ...withChanges('content')],
    room: user('room'),
    sender: user('sender'),
    underride: [...user('underride'), ...withChanges('underride')],
  };
}

const ruleNotFound = () => new MatrixError('M_NOT_FOUND', 'The push rule was not found');

/** One rule of the user's ruleset; M_NOT_FOUND when there is none of that kind and id. */
export function getPushRule(doc: PushRulesDocument, userId: string, kind: PushRuleKind, ruleId: string): PushRule {
  const rule = composePushRuleset(doc, userId)[kind].find((r) => r.rule_id === ruleId);
  if (!rule) throw ruleNotFound();
  return rule;
}

// ---------------------------------------------------------------------------------------------
// Validation

const jsonBytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;
const invalid = (message: string) => new MatrixError('M_INVALID_PARAM', message);
const KNOWN_ACTIONS = new Set(['notify', 'dont_notify', 'coalesce']);
const MEMBER_COUNT = /^(==|<|>|<=|>=)?[0-9]{1,9}$/;

function checkRuleId(ruleId: string, what: string) {
  if (ruleId.length === 0 || ruleId.length > MAX_PUSH_RULE_ID_LENGTH) throw invalid(`${what} must be 1 to ${MAX_PUSH_RULE_ID_LENGTH} characters`);
}

/** Checks a list of actions: known string actions, or `{set_tweak: name, value?}`. */
export function checkPushActions(actions: readonly PushAction[]): void {
  if (actions.length > MAX_PUSH_ACTIONS) throw invalid(`A push rule may have at most ${MAX_PUSH_ACTIONS} actions`);
  for (const action of actions) {
    if (typeof action === 'string') {
      if (!KNOWN_ACTIONS.has(action)) throw invalid('Unrecognised push rule action');
    } else if (!isRecord(action) || typeof action.set_tweak !== 'string' || action.set_tweak === '') {
      throw invalid('A push rule action must be a known action name or a {set_tweak} object');
    }
  }
  if (jsonBytes(actions) > MAX_PUSH_RULE_BYTES) throw new MatrixError('M_TOO_LARGE', 'The push rule actions are too large');
}

/** Checks conditions: each has a kind, and the parameters the spec requires for the kinds it defines. */
export function checkPushConditions(conditions: readonly PushCondition[]): void {
  if (conditions.length > MAX_PUSH_CONDITIONS) throw invalid(`A push rule may have at most ${MAX_PUSH_CONDITIONS} conditions`);
  for (const c of conditions) {
    if (!isRecord(c) || typeof c.kind !== 'string' || c.kind === '') throw invalid('Every push condition needs a kind');
    const needs = (field: 'key' | 'pattern' | 'is') => {
      if (typeof c[field] !== 'string') throw invalid(`A ${c.kind} condition needs a string ${field}`);
    };
    switch (c.kind) {
      case 'event_match':
        needs('key');
        needs('pattern');
        break;
      case 'event_property_is':
      case 'event_property_contains': {
        needs('key');
        const v = c.value;
        const scalar = v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isSafeInteger(v));
        if (!scalar) throw invalid(`A ${c.kind} condition needs a value that is a string, an integer, a boolean or null`);
        break;
      }
      case 'room_member_count':
        needs('is');
        if (!MEMBER_COUNT.test(c.is ?? '')) throw invalid('room_member_count "is" must be a number, optionally prefixed by ==, <, >, <= or >=');
        break;
      case 'sender_notification_permission':
        needs('key');
        break;
    }
  }
}

/** A change that grows the document is refused past the document limit. */
function checkDocumentSize(doc: PushRulesDocument): PushRulesDocument {
  if (jsonBytes(doc) > MAX_PUSH_RULES_DOCUMENT_BYTES) throw new MatrixError('M_TOO_LARGE', 'Too many push rules; delete some first');
  return doc;
}

// ---------------------------------------------------------------------------------------------
// Changing

function withRules(doc: PushRulesDocument, kind: PushRuleKind, list: StoredPushRule[]): PushRulesDocument {
  return { ...doc, rules: { ...doc.rules, [kind]: list } };
}

/** The stored form of a new or updated user rule: only the fields its kind uses. */
function buildUserRule(kind: PushRuleKind, ruleId: string, input: PushRuleInput, enabled: boolean): StoredPushRule {
  checkPushActions(input.actions);
  const rule: StoredPushRule = { rule_id: ruleId, enabled, actions: [...input.actions] };
  switch (kind) {
    case 'override':
    case 'underride': {
      const conditions = input.conditions ?? [];
      checkPushConditions(conditions);
      rule.conditions = [...conditions];
      break;
    }
    case 'content':
      if (typeof input.pattern !== 'string') throw new MatrixError('M_MISSING_PARAM', 'A content rule needs a pattern');
      if (input.pattern === '') throw invalid('A content rule pattern must not be empty');
      rule.pattern = input.pattern;
      break;
    case 'room':
      if (!ruleId.startsWith('!')) throw invalid('The id of a room rule is the room id');
      break;
    case 'sender':
      if (!parseUserId(ruleId)) throw invalid('The id of a sender rule is the user id');
      break;
  }
  if (jsonBytes(rule) > MAX_PUSH_RULE_BYTES) throw new MatrixError('M_TOO_LARGE', 'The push rule is too large');
  return rule;
}

/** `before`/`after` must name another user rule of the same kind. */
function checkAnchor(list: readonly StoredPushRule[], anchor: string, ruleId: string, which: 'before' | 'after') {
  checkRuleId(anchor, which);
  if (anchor.startsWith('.')) throw invalid(`${which} cannot name a server-default rule`);
  if (anchor === ruleId) throw invalid(`${which} cannot name the rule itself`);
  if (!list.some((r) => r.rule_id === anchor)) throw new MatrixError('M_NOT_FOUND', `The ${which} rule was not found`);
}

/**
 * Adds or replaces the user rule `ruleId` of `kind`. A new rule is enabled and, without `before` or
 * `after`, becomes the most important user rule of its kind; a replaced rule keeps its place and
 * its enabled state. `before` wins over `after` when both are given.
 */
export function putPushRule(
  doc: PushRulesDocument,
  kind: PushRuleKind,
  ruleId: string,
  input: PushRuleInput,
  position: PushRulePosition = {},
): PushRulesDocument {
  checkRuleId(ruleId, 'The rule id');
  if (ruleId.startsWith('.')) throw invalid('Rule ids starting with "." are reserved for server-default rules');
  if (ruleId.includes('/') || ruleId.includes('\\')) throw invalid('Rule ids cannot contain "/" or "\\"');

  const current = doc.rules[kind];
  const existingIndex = current.findIndex((r) => r.rule_id === ruleId);
  const existing = existingIndex >= 0 ? current[existingIndex] : undefined;
  const rule = buildUserRule(kind, ruleId, input, existing?.enabled ?? true);

  const { before, after } = position;
  if (before !== undefined) checkAnchor(current, before, ruleId, 'before');
  if (after !== undefined) checkAnchor(current, after, ruleId, 'after');
  // Place it relative to the list without this rule.
  const others = current.filter((r) => r.rule_id !== ruleId);
  const indexOf = (id: string) => others.findIndex((r) => r.rule_id === id);
  const at = before !== undefined ? indexOf(before) : after !== undefined ? indexOf(after) + 1 : existing ? existingIndex : 0;
  return checkDocumentSize(withRules(doc, kind, [...others.slice(0, at), rule, ...others.slice(at)]));
}

/** Deletes a user rule; server-default rules cannot be deleted (only disabled). */
export function deletePushRule(doc: PushRulesDocument, kind: PushRuleKind, ruleId: string): PushRulesDocument {
  if (ruleId.startsWith('.')) throw invalid('Server-default push rules cannot be deleted');
  const list = doc.rules[kind];
  if (!list.some((r) => r.rule_id === ruleId)) throw ruleNotFound();
  return withRules(doc, kind, list.filter((r) => r.rule_id !== ruleId));
}

/** Applies `change` to a user rule, or records it against a server-default rule. */
function changeRule(doc: PushRulesDocument, kind: PushRuleKind, ruleId: string, change: DefaultPushRuleChange): PushRulesDocument {
  const base = serverDefault(kind, ruleId);
  if (base) {
    const merged: DefaultPushRuleChange = { ...(Object.hasOwn(doc.defaults, ruleId) ? doc.defaults[ruleId] : {}), ...change };
    // Keep only what differs from the server default, so a reset leaves nothing stored.
    if (merged.enabled === base.enabled) delete merged.enabled;
    if (merged.actions && JSON.stringify(merged.actions) === JSON.stringify(base.actions)) delete merged.actions;
    const defaults = { ...doc.defaults };
    if (merged.enabled === undefined && merged.actions === undefined) delete defaults[ruleId];
    else defaults[ruleId] = merged;
    return { ...doc, defaults };
  }
  const list = doc.rules[kind];
  if (!list.some((r) => r.rule_id === ruleId)) throw ruleNotFound();
  return withRules(doc, kind, list.map((r) => (r.rule_id === ruleId ? { ...r, ...change } : r)));
}

export function setPushRuleEnabled(doc: PushRulesDocument, kind: PushRuleKind, ruleId: string, enabled: boolean): PushRulesDocument {
  return changeRule(doc, kind, ruleId, { enabled });
}

export function setPushRuleActions(doc: PushRulesDocument, kind: PushRuleKind, ruleId: string, actions: readonly PushAction[]): PushRulesDocument {
  checkPushActions(actions);
  return checkDocumentSize(changeRule(doc, kind, ruleId, { actions: [...actions] }));
}
