/**
 * Caduceus extensions for automatic logoff and session control (documented in the README):
 * the organisation's session policy, the user's sessions, and remote wipe from another device.
 */
import { Type } from 'typebox';
import { principal, requireAuth } from '../../http/authenticate.ts';
import { limits } from '../../http/rate-limits.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { AuthField, DeviceIdField } from './fields.ts';

export const POLICY_PATH = '/_caduceus/client/v1/policy';

export function sessionPolicyRoutes(app: App, services: Services) {
  const auth = requireAuth(services.sessions);

  /**
   * GET /_caduceus/client/v1/policy: idle lock, session lifetime, MFA and encryption requirements.
   * Served without a token: a client needs it before sign-in, and it holds no secrets.
   */
  app.get(POLICY_PATH, { schema: { querystring: Type.Object({}) } }, async (_request, reply) => {
    reply.header('Access-Control-Allow-Origin', '*').header('Cache-Control', 'public, max-age=300');
    return services.sessionControl.policy();
  });

  /** GET /_caduceus/client/v1/sessions: the caller's sessions, with client, last seen time and address, and when each ends. */
  app.get('/_caduceus/client/v1/sessions', { onRequest: auth, schema: { querystring: Type.Object({}) } }, async (request) => ({
    sessions: await services.sessionControl.list(principal(request)),
  }));

  /**
   * POST /_caduceus/client/v1/devices/wipe (user-interactive auth): ends the named sessions, or all
   * but the caller's, for good; their devices are told to erase local data (soft_logout: false).
   */
  app.post(
    '/_caduceus/client/v1/devices/wipe',
    {
      onRequest: auth,
      config: { rateLimit: limits.accountChange },
      schema: {
        body: Type.Object({
          device_ids: Type.Optional(Type.Array(DeviceIdField, { maxItems: 1000 })),
          all_other: Type.Optional(Type.Boolean()),
          auth: AuthField,
        }),
      },
    },
    async (request) => {
      const { device_ids, all_other, auth: authDict } = request.body;
      const wiped = await services.sessionControl.wipe(principal(request), { deviceIds: device_ids, allOther: all_other }, authDict, request.ip);
      return { wiped };
    },
  );
}
