/**
 * GET /_caduceus/admin/v1/whoami: the caller's own roles and the admin areas they may use, so a
 * client knows whether to offer the admin console at all. Any signed-in user may ask (it tells them
 * only about themselves), so it sits outside the admin gate and is not an audited admin call.
 */
import { Type } from 'typebox';
import { principal, requireAuth } from '../../http/authenticate.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { ADMIN_AREAS, mayUseAdminArea } from '../../services/admin/index.ts';

export function adminWhoamiRoutes(app: App, services: Services) {
  app.get(
    '/whoami',
    {
      onRequest: requireAuth(services.sessions),
      schema: {
        tags: ['session'],
        summary: "The caller's roles and the admin areas they may use (empty for everyone else)",
        querystring: Type.Object({}),
      },
    },
    async (request) => {
      const { userId } = principal(request);
      const roles = await services.admin.gatekeeper.rolesOf(userId);
      return { user_id: userId, roles, admin_areas: ADMIN_AREAS.filter((area) => mayUseAdminArea(roles, area)) };
    },
  );
}
