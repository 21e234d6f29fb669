import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { enc, type Api } from './support/api.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { registerUser } from './support/users.ts';

const RULES = '/_matrix/client/v3/pushrules';
const rulePath = (kind: string, ruleId: string, suffix = '') => `${RULES}/global/${kind}/${enc(ruleId)}${suffix}`;

interface Rule {
  rule_id: string;
  default: boolean;
  enabled: boolean;
  actions: unknown[];
  conditions?: unknown[];
  pattern?: string;
}
type Ruleset = Record<'override' | 'content' | 'room' | 'sender' | 'underride', Rule[]>;

async function ruleset(api: Api): Promise<Ruleset> {
  const res = await api.get(`${RULES}/global/`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

async function put(api: Api, path: string, body: unknown) {
  const res = await api.put(path, body);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(res.body, {});
}

const keyword = (word: string) => ({ pattern: word, actions: ['notify', { set_tweak: 'highlight' }] });
const muteRoom = (roomId: string) => ({ actions: [], conditions: [{ kind: 'event_match', key: 'room_id', pattern: roomId }] });

describe('push rules', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('a new user has the server-default rules, under "global", at /pushrules/ with the trailing slash', async () => {
    const user = await registerUser(server);
    const res = await user.api.get(`${RULES}/`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { global } = res.body as { global: Ruleset };
    assert.deepEqual(Object.keys(global).sort(), ['content', 'override', 'room', 'sender', 'underride']);
    assert.deepEqual(global.override[0], { rule_id: '.m.rule.master', default: true, enabled: false, conditions: [], actions: [] });
    const containsUserName = global.content.find((r) => r.rule_id === '.m.rule.contains_user_name');
    assert.equal(containsUserName?.pattern, user.localpart);
    const invite = global.override.find((r) => r.rule_id === '.m.rule.invite_for_me');
    assert.deepEqual(invite?.conditions?.[2], { kind: 'event_match', key: 'state_key', pattern: user.userId });
    const message = global.underride.find((r) => r.rule_id === '.m.rule.message');
    assert.deepEqual(message?.actions, ['notify']);
    assert.deepEqual(global.room, []);
    assert.deepEqual(global.sender, []);
    assert.deepEqual(await ruleset(user.api), global);
  });

  test('every push rule endpoint needs an access token', async () => {
    const paths: [string, string, unknown?][] = [
      ['GET', `${RULES}/`],
      ['GET', `${RULES}/global/`],
      ['GET', rulePath('override', '.m.rule.master')],
      ['PUT', rulePath('override', 'x'), { actions: [] }],
      ['DELETE', rulePath('override', 'x')],
      ['GET', rulePath('override', '.m.rule.master', '/enabled')],
      ['PUT', rulePath('override', '.m.rule.master', '/enabled'), { enabled: true }],
      ['GET', rulePath('override', '.m.rule.master', '/actions')],
      ['PUT', rulePath('override', '.m.rule.master', '/actions'), { actions: [] }],
    ];
    for (const [method, path, body] of paths) {
      const res = await server.api.request(method, path, body);
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.equal(res.body.errcode, 'M_MISSING_TOKEN');
    }
  });

  test('GET of one rule returns it, default or user-defined', async () => {
    const user = await registerUser(server);
    const master = await user.api.get(rulePath('override', '.m.rule.master'));
    assert.equal(master.status, 200);
    assert.deepEqual(master.body, { rule_id: '.m.rule.master', default: true, enabled: false, conditions: [], actions: [] });
    await put(user.api, rulePath('content', 'cake'), keyword('cake*lie'));
    const cake = await user.api.get(rulePath('content', 'cake'));
    assert.deepEqual(cake.body, { rule_id: 'cake', default: false, enabled: true, pattern: 'cake*lie', actions: ['notify', { set_tweak: 'highlight' }] });
  });

  test('a new rule is the most important user rule of its kind, below the master rule', async () => {
    const user = await registerUser(server);
    await put(user.api, rulePath('override', 'first'), muteRoom('!a:test.local'));
    await put(user.api, rulePath('override', 'second'), muteRoom('!b:test.local'));
    const { override } = await ruleset(user.api);
    assert.deepEqual(override.slice(0, 4).map((r) => r.rule_id), ['.m.rule.master', 'second', 'first', '.m.rule.suppress_notices']);
    assert.deepEqual(override[1], { rule_id: 'second', default: false, enabled: true, conditions: muteRoom('!b:test.local').conditions, actions: [] });
  });

  test('before and after place a rule next to the named user rule', async () => {
    const user = await registerUser(server);
    for (const word of ['c', 'b', 'a']) await put(user.api, rulePath('content', word), keyword(word));
    await put(user.api, `${rulePath('content', 'x')}?before=b`, keyword('x'));
    await put(user.api, `${rulePath('content', 'y')}?after=c`, keyword('y'));
    await put(user.api, `${rulePath('content', 'a')}?after=x`, keyword('moved'));
    const { content } = await ruleset(user.api);
    assert.deepEqual(content.map((r) => r.rule_id), ['x', 'a', 'b', 'c', 'y', '.m.rule.contains_user_name']);
    assert.equal(content[1]!.pattern, 'moved');
  });

  test('underride user rules come before the server-default underride rules', async () => {
    const user = await registerUser(server);
    await put(user.api, rulePath('underride', 'quiet'), { actions: [], conditions: [{ kind: 'room_member_count', is: '>10' }] });
    const { underride } = await ruleset(user.api);
    assert.deepEqual(underride.map((r) => r.rule_id)[0], 'quiet');
    assert.ok(underride.slice(1).every((r) => r.default));
  });

  test('room and sender rules are keyed by the room id and the user id', async () => {
    const user = await registerUser(server);
    await put(user.api, rulePath('room', '!dj234r78wl45Gh4D:matrix.org'), { actions: [] });
    await put(user.api, rulePath('sender', '@spambot:matrix.org'), { actions: [] });
    const rules = await ruleset(user.api);
    assert.deepEqual(rules.room, [{ rule_id: '!dj234r78wl45Gh4D:matrix.org', default: false, enabled: true, actions: [] }]);
    assert.deepEqual(rules.sender, [{ rule_id: '@spambot:matrix.org', default: false, enabled: true, actions: [] }]);
  });

  test('condition values keep their JSON types', async () => {
    const user = await registerUser(server);
    const conditions = [
      { kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true },
      { kind: 'event_property_is', key: 'content.n', value: 3 },
      { kind: 'event_property_is', key: 'content.z', value: null },
      { kind: 'org.example.future', anything: ['kept'] },
    ];
    await put(user.api, rulePath('override', 'typed'), { actions: ['notify'], conditions });
    assert.deepEqual((await user.api.get(rulePath('override', 'typed'))).body.conditions, conditions);
  });

  test('disabling a server-default rule persists and shows everywhere', async () => {
    const user = await registerUser(server);
    await put(user.api, rulePath('underride', '.m.rule.message', '/enabled'), { enabled: false });
    assert.deepEqual((await user.api.get(rulePath('underride', '.m.rule.message', '/enabled'))).body, { enabled: false });
    const message = (await ruleset(user.api)).underride.find((r) => r.rule_id === '.m.rule.message');
    assert.equal(message?.enabled, false);
    assert.equal(message?.default, true);
    await put(user.api, rulePath('override', '.m.rule.master', '/enabled'), { enabled: true });
    assert.equal((await ruleset(user.api)).override[0]!.enabled, true);
  });

  test('a user rule can be disabled and keeps that state when it is replaced', async () => {
    const user = await registerUser(server);
    await put(user.api, rulePath('content', 'lunch'), keyword('lunch'));
    await put(user.api, rulePath('content', 'lunch', '/enabled'), { enabled: false });
    await put(user.api, rulePath('content', 'lunch'), keyword('brunch'));
    assert.deepEqual((await user.api.get(rulePath('content', 'lunch', '/enabled'))).body, { enabled: false });
  });

  test('actions can be changed on default and user rules', async () => {
    const user = await registerUser(server);
    const loud = ['notify', { set_tweak: 'sound', value: 'cakealarm.wav' }, { set_tweak: 'highlight', value: false }];
    await put(user.api, rulePath('underride', '.m.rule.room_one_to_one', '/actions'), { actions: loud });
    assert.deepEqual((await user.api.get(rulePath('underride', '.m.rule.room_one_to_one', '/actions'))).body, { actions: loud });
    await put(user.api, rulePath('room', '!r:test.local'), { actions: [] });
    await put(user.api, rulePath('room', '!r:test.local', '/actions'), { actions: ['notify'] });
    assert.deepEqual((await user.api.get(rulePath('room', '!r:test.local', '/actions'))).body, { actions: ['notify'] });
    const rule = (await ruleset(user.api)).underride.find((r) => r.rule_id === '.m.rule.room_one_to_one');
    assert.deepEqual(rule?.actions, loud);
    assert.equal(rule?.conditions?.length, 2);
  });

  test('a deleted rule is gone, and deleting it again is not found', async () => {
    const user = await registerUser(server);
    await put(user.api, rulePath('override', 'gone'), { actions: [] });
    const res = await user.api.delete(rulePath('override', 'gone'));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {});
    assert.equal((await user.api.get(rulePath('override', 'gone'))).status, 404);
    assert.equal((await user.api.delete(rulePath('override', 'gone'))).body.errcode, 'M_NOT_FOUND');
    assert.ok((await ruleset(user.api)).override.every((r) => r.default));
  });

  test('one user’s changes do not touch another user’s rules', async () => {
    const alice = await registerUser(server);
    const bob = await registerUser(server);
    const before = await ruleset(bob.api);
    await put(alice.api, rulePath('content', 'secret'), keyword('secret'));
    await put(alice.api, rulePath('override', '.m.rule.master', '/enabled'), { enabled: true });
    await put(alice.api, rulePath('underride', '.m.rule.message', '/actions'), { actions: [] });
    assert.deepEqual(await ruleset(bob.api), before);
    assert.equal((await bob.api.get(rulePath('content', 'secret'))).status, 404);
    assert.equal((await bob.api.delete(rulePath('content', 'secret'))).status, 404);
  });

  test('concurrent changes by one user are all kept', async () => {
    const user = await registerUser(server);
    const names = Array.from({ length: 12 }, (_, i) => `word${i}`);
    const answers = await Promise.all(names.map((n) => user.api.put(rulePath('content', n), keyword(n))));
    assert.ok(answers.every((a) => a.status === 200));
    const { content } = await ruleset(user.api);
    assert.deepEqual(content.map((r) => r.rule_id).filter((id) => !id.startsWith('.')).sort(), [...names].sort());
  });

  describe('refuses', () => {
    let api: Api;
    before(async () => {
      api = (await registerUser(server)).api;
      await put(api, rulePath('override', 'mine'), { actions: [] });
    });

    const cases: { name: string; method: string; path: () => string; body?: unknown; status: number; errcode: string }[] = [
      { name: 'an unknown kind', method: 'GET', path: () => rulePath('everything', 'mine'), status: 400, errcode: 'M_INVALID_PARAM' },
      { name: 'an unknown kind on PUT', method: 'PUT', path: () => rulePath('everything', 'x'), body: { actions: [] }, status: 400, errcode: 'M_INVALID_PARAM' },
      { name: 'a scope other than global', method: 'GET', path: () => `${RULES}/device/`, status: 400, errcode: 'M_INVALID_PARAM' },
      { name: 'a scope other than global for a rule', method: 'GET', path: () => `${RULES}/device/override/mine`, status: 400, errcode: 'M_INVALID_PARAM' },
      { name: 'an unknown rule', method: 'GET', path: () => rulePath('override', 'nope'), status: 404, errcode: 'M_NOT_FOUND' },
      { name: 'a default rule of another kind', method: 'GET', path: () => rulePath('content', '.m.rule.master'), status: 404, errcode: 'M_NOT_FOUND' },
      { name: 'enabled of an unknown rule', method: 'GET', path: () => rulePath('override', 'nope', '/enabled'), status: 404, errcode: 'M_NOT_FOUND' },
      { name: 'actions of an unknown rule', method: 'GET', path: () => rulePath('override', 'nope', '/actions'), status: 404, errcode: 'M_NOT_FOUND' },
      { name: 'enabling an unknown rule', method: 'PUT', path: () => rulePath('override', 'nope', '/enabled'), body: { enabled: true }, status: 404, errcode: 'M_NOT_FOUND' },
      { name: 'setting actions of an unknown rule', method: 'PUT', path: () => rulePath('override', 'nope', '/actions'), body: { actions: [] }, status: 404, errcode: 'M_NOT_FOUND' },
      { name: 'deleting an unknown rule', method: 'DELETE', path: () => rulePath('override', 'nope'), status: 404, errcode: 'M_NOT_FOUND' },
      { name: 'creating a rule with a server-default id', method: 'PUT', path: () => rulePath('override', '.m.rule.mine'), body: { actions: [] }, status: 400, errcode: 'M_INVALID_PARAM' },
      { name: 'replacing a server-default rule', method: 'PUT', path: () => rulePath('underride', '.m.rule.message'), body: { actions: [] }, status: 400, errcode: 'M_INVALID_PARAM' },
      { name: 'deleting a server-default rule', method: 'DELETE', path: () => rulePath('override', '.m.rule.master'), status: 400, errcode: 'M_INVALID_PARAM' },
      { name: 'a rule id with a slash', method: 'PUT', path: () => rulePath('override', 'a/b'), body: { actions: [] }, status: 400, errcode: 'M_INVALID_PARAM' },
      { name: 'a rule id over 255 characters', method: 'PUT', path: () => rulePath('override', 'x'.repeat(256)), body: { actions: [] }, status: 400, errcode: 'M_INVALID_PARAM' },
      { name: 'before naming an unknown rule', method: 'PUT', path: () => `${rulePath('override', 'x')}?before=nope`, body: { actions: [] }, status: 404, errcode: 'M_NOT_FOUND' },
      { name: 'after naming an unknown rule', method: 'PUT', path: () => `${rulePath('override', 'x')}?after=nope`, body: { actions: [] }, status: 404, errcode: 'M_NOT_FOUND' },
      { name: 'after naming a server-default rule', method: 'PUT', path: () => `${rulePath('override', 'x')}?after=.m.rule.master`, body: { actions: [] }, status: 400, errcode: 'M_INVALID_PARAM' },
      { name: 'a rule without actions', method: 'PUT', path: () => rulePath('override', 'x'), body: { conditions: [] }, status: 400, errcode: 'M_MISSING_PARAM' },
      { name: 'a content rule without a pattern', method: 'PUT', path: () => rulePath('content', 'x'), body: { actions: [] }, status: 400, errcode: 'M_MISSING_PARAM' },
      { name: 'a room rule whose id is not a room id', method: 'PUT', path: () => rulePath('room', 'lunch'), body: { actions: [] }, status: 400, errcode: 'M_INVALID_PARAM' },
      { name: 'a sender rule whose id is not a user id', method: 'PUT', path: () => rulePath('sender', 'bob'), body: { actions: [] }, status: 400, errcode: 'M_INVALID_PARAM' },
      { name: 'an unknown action', method: 'PUT', path: () => rulePath('override', 'x'), body: { actions: ['explode'] }, status: 400, errcode: 'M_INVALID_PARAM' },
      { name: 'an unknown action on /actions', method: 'PUT', path: () => rulePath('override', 'mine', '/actions'), body: { actions: ['explode'] }, status: 400, errcode: 'M_INVALID_PARAM' },
      { name: 'too many actions', method: 'PUT', path: () => rulePath('override', 'x'), body: { actions: Array(21).fill('notify') }, status: 400, errcode: 'M_BAD_JSON' },
      {
        name: 'a malformed condition',
        method: 'PUT',
        path: () => rulePath('override', 'x'),
        body: { actions: [], conditions: [{ kind: 'event_match', key: 'type' }] },
        status: 400,
        errcode: 'M_INVALID_PARAM',
      },
      { name: 'enabled that is not a boolean', method: 'PUT', path: () => rulePath('override', 'mine', '/enabled'), body: { enabled: 'maybe' }, status: 400, errcode: 'M_BAD_JSON' },
      { name: 'enabled missing', method: 'PUT', path: () => rulePath('override', 'mine', '/enabled'), body: {}, status: 400, errcode: 'M_MISSING_PARAM' },
      { name: 'actions that are not a list', method: 'PUT', path: () => rulePath('override', 'mine', '/actions'), body: { actions: { notify: true } }, status: 400, errcode: 'M_BAD_JSON' },
    ];
    for (const c of cases) {
      test(`${c.name} (${c.status} ${c.errcode})`, async () => {
        const res = await api.request(c.method, c.path(), c.body);
        assert.equal(res.status, c.status, JSON.stringify(res.body));
        assert.equal(res.body.errcode, c.errcode, JSON.stringify(res.body));
      });
    }

    test('and a refused change leaves the rules as they were', async () => {
      const rules = await ruleset(api);
      assert.deepEqual(rules.override.filter((r) => !r.default).map((r) => r.rule_id), ['mine']);
      assert.deepEqual(rules.override.find((r) => r.rule_id === 'mine')?.actions, []);
    });
  });
});
