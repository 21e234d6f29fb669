/** Admin API: the organisation policies that apply without a restart. */
import { Type, type TSchema } from 'typebox';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { POLICY_DEFINITIONS } from '../../services/admin/policy-definitions.ts';
import { adminCaller } from './gate.ts';

const tags = ['policies'];
const area = 'policies' as const;

/** Each policy may be set to a value of its type, or to null to go back to the configuration's value. */
const PolicyChanges = Type.Object(
  Object.fromEntries(POLICY_DEFINITIONS.map((d): [string, TSchema] => [d.key, Type.Optional(Type.Union([d.schema, Type.Null()], { description: d.description }))])),
  { additionalProperties: false, minProperties: 1 },
);

export function adminPolicyRoutes(app: App, { admin }: Services) {
  /** GET /_caduceus/admin/v1/policies */
  app.get('/policies', { config: { admin: { area, verb: 'get' } }, schema: { tags, summary: 'Every policy: its value, the configured default and where the value comes from' } }, async (request) => ({
    policies: await admin.policies.get(adminCaller(request)),
  }));

  /** PUT /_caduceus/admin/v1/policies */
  app.put(
    '/policies',
    { config: { admin: { area, verb: 'update' } }, schema: { tags, summary: 'Change policies (null: back to the configured default); applies at once', body: PolicyChanges } },
    async (request) => ({ policies: await admin.policies.update(adminCaller(request), request.body as Record<string, unknown>) }),
  );
}
