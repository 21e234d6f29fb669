/** The user's push rules (spec: "Push Rules: API"). Only the `global` scope exists. */
import { Type } from 'typebox';
import { MAX_PUSH_ACTIONS, MAX_PUSH_CONDITIONS, MAX_PUSH_RULE_ID_LENGTH, PUSH_RULE_KINDS } from '@caduceus/core';
import { principal, requireAuth } from '../../http/authenticate.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';

const RuleId = Type.String({ minLength: 1, maxLength: MAX_PUSH_RULE_ID_LENGTH });
/** Any other scope answers 400 M_INVALID_PARAM. */
const ScopeParams = Type.Object({ scope: Type.Literal('global') });
const RuleParams = Type.Object({ scope: Type.Literal('global'), kind: Type.Enum(PUSH_RULE_KINDS), ruleId: RuleId });

const Action = Type.Union([
  Type.String({ maxLength: 64 }),
  Type.Object({ set_tweak: Type.String({ minLength: 1, maxLength: 255 }), value: Type.Optional(Type.Unknown()) }),
]);
const Actions = Type.Array(Action, { maxItems: MAX_PUSH_ACTIONS });
/** Parameters are checked per condition kind by the rule logic; unknown kinds are kept as sent. */
const Condition = Type.Object({
  kind: Type.String({ minLength: 1, maxLength: 255 }),
  key: Type.Optional(Type.String({ maxLength: 1024 })),
  pattern: Type.Optional(Type.String({ maxLength: 1024 })),
  is: Type.Optional(Type.String({ maxLength: 16 })),
  value: Type.Optional(Type.Unknown()),
});

const PutRuleQuery = Type.Object({ before: Type.Optional(RuleId), after: Type.Optional(RuleId) });
const PutRuleBody = Type.Object({
  actions: Actions,
  conditions: Type.Optional(Type.Array(Condition, { maxItems: MAX_PUSH_CONDITIONS })),
  pattern: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
});

export function pushRuleRoutes(app: App, services: Services) {
  const auth = requireAuth(services.sessions);
  const rules = services.pushRules;

  /** GET /_matrix/client/v3/pushrules/ (with the slash: matrix-js-sdk asks for exactly this) */
  app.get('/_matrix/client/v3/pushrules/', { onRequest: auth }, async (request) => ({
    global: await rules.ruleset(principal(request).userId),
  }));

  /** GET /_matrix/client/v3/pushrules/{scope}/ */
  app.get('/_matrix/client/v3/pushrules/:scope/', { onRequest: auth, schema: { params: ScopeParams } }, async (request) =>
    rules.ruleset(principal(request).userId),
  );

  /** GET /_matrix/client/v3/pushrules/{scope}/{kind}/{ruleId} */
  app.get('/_matrix/client/v3/pushrules/:scope/:kind/:ruleId', { onRequest: auth, schema: { params: RuleParams } }, async (request) =>
    rules.get(principal(request).userId, request.params.kind, request.params.ruleId),
  );

  /** PUT /_matrix/client/v3/pushrules/{scope}/{kind}/{ruleId}?before=&after= */
  app.put(
    '/_matrix/client/v3/pushrules/:scope/:kind/:ruleId',
    { onRequest: auth, schema: { params: RuleParams, querystring: PutRuleQuery, body: PutRuleBody } },
    async (request) => {
      const { kind, ruleId } = request.params;
      await rules.put(principal(request).userId, kind, ruleId, request.body, request.query);
      return {};
    },
  );

  /** DELETE /_matrix/client/v3/pushrules/{scope}/{kind}/{ruleId} */
  app.delete('/_matrix/client/v3/pushrules/:scope/:kind/:ruleId', { onRequest: auth, schema: { params: RuleParams } }, async (request) => {
    await rules.delete(principal(request).userId, request.params.kind, request.params.ruleId);
    return {};
  });

  /** GET /_matrix/client/v3/pushrules/{scope}/{kind}/{ruleId}/enabled */
  app.get('/_matrix/client/v3/pushrules/:scope/:kind/:ruleId/enabled', { onRequest: auth, schema: { params: RuleParams } }, async (request) => {
    const rule = await rules.get(principal(request).userId, request.params.kind, request.params.ruleId);
    return { enabled: rule.enabled };
  });

  /** PUT /_matrix/client/v3/pushrules/{scope}/{kind}/{ruleId}/enabled */
  app.put(
    '/_matrix/client/v3/pushrules/:scope/:kind/:ruleId/enabled',
    { onRequest: auth, schema: { params: RuleParams, body: Type.Object({ enabled: Type.Boolean() }) } },
    async (request) => {
      await rules.setEnabled(principal(request).userId, request.params.kind, request.params.ruleId, request.body.enabled);
      return {};
    },
  );

  /** GET /_matrix/client/v3/pushrules/{scope}/{kind}/{ruleId}/actions */
  app.get('/_matrix/client/v3/pushrules/:scope/:kind/:ruleId/actions', { onRequest: auth, schema: { params: RuleParams } }, async (request) => {
    const rule = await rules.get(principal(request).userId, request.params.kind, request.params.ruleId);
    return { actions: rule.actions };
  });

  /** PUT /_matrix/client/v3/pushrules/{scope}/{kind}/{ruleId}/actions */
  app.put(
    '/_matrix/client/v3/pushrules/:scope/:kind/:ruleId/actions',
    { onRequest: auth, schema: { params: RuleParams, body: Type.Object({ actions: Actions }) } },
    async (request) => {
      await rules.setActions(principal(request).userId, request.params.kind, request.params.ruleId, request.body.actions);
      return {};
    },
  );
}
