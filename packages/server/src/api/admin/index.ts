/**
 * The admin API under /_caduceus/admin/v1: one encapsulated plugin, so its gate and its OpenAPI
 * document cover exactly the admin routes. The document is generated from the routes' schemas and
 * served at /openapi.json, with a browsable copy at /docs (Swagger UI under a strict CSP).
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { adminGate } from './gate.ts';
import { adminUserRoutes } from './users.ts';
import { adminDeviceRoutes } from './devices.ts';
import { adminRoomRoutes } from './rooms.ts';
import { adminRegistrationTokenRoutes } from './registration-tokens.ts';
import { adminPolicyRoutes } from './policies.ts';
import { adminDepartmentRoutes } from './departments.ts';
import { adminAuditRoutes } from './audit.ts';
import { adminNoticeRoutes } from './notices.ts';
import { adminReportRoutes } from './report.ts';
import { adminWhoamiRoutes } from './whoami.ts';
import { adminRetentionRoutes } from './retention.ts';

export const ADMIN_PREFIX = '/_caduceus/admin/v1';

export async function adminRoutes(app: App, services: Services) {
  await app.register(
    async (admin: App) => {
      await admin.register(swagger, {
        openapi: {
          openapi: '3.1.0',
          info: {
            title: 'Caduceus admin API',
            version: '1',
            description:
              'Administration of a Caduceus homeserver. Every call needs an access token of a user with the admin role (security officers: audit and report only) and is recorded in the audit trail.',
          },
          // Relative: the document is served by the same server, whatever public URL it has.
          servers: [{ url: ADMIN_PREFIX }],
          components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
          security: [{ bearer: [] }],
        },
        // Paths in the document are relative to the server URL above.
        transform: ({ schema, url }) => ({ schema: schema as never, url: url.startsWith(ADMIN_PREFIX) ? url.slice(ADMIN_PREFIX.length) || '/' : url }),
      });
      admin.addHook('onRequest', adminGate(services));

      adminUserRoutes(admin, services);
      adminDeviceRoutes(admin, services);
      adminRoomRoutes(admin, services);
      adminRegistrationTokenRoutes(admin, services);
      adminPolicyRoutes(admin, services);
      adminDepartmentRoutes(admin, services);
      adminAuditRoutes(admin, services);
      adminNoticeRoutes(admin, services);
      adminReportRoutes(admin, services);
      adminWhoamiRoutes(admin, services);
      adminRetentionRoutes(admin, services);

      /** GET /_caduceus/admin/v1/openapi.json */
      admin.get('/openapi.json', { schema: { hide: true } }, async () => admin.swagger());
      await admin.register(swaggerUi, {
        routePrefix: '/docs',
        uiConfig: { validatorUrl: null },
        staticCSP: true,
        // Served over plain HTTP in development too, where upgrading requests would break the page.
        transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/, ''),
      });
    },
    { prefix: ADMIN_PREFIX },
  );
}
