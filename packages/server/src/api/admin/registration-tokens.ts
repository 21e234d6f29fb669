/** Admin API: registration tokens. */
import { Type } from 'typebox';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { adminCaller } from './gate.ts';

const tags = ['registration tokens'];
const area = 'registration_tokens' as const;
const TokenParam = Type.Object({ token: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._~-]+$' }) });

export function adminRegistrationTokenRoutes(app: App, { admin }: Services) {
  /** GET /_caduceus/admin/v1/registration_tokens */
  app.get('/registration_tokens', { config: { admin: { area, verb: 'list' } }, schema: { tags, summary: 'Every registration token with its use count and limits' } }, async (request) =>
    admin.registrationTokens.list(adminCaller(request)),
  );

  /** POST /_caduceus/admin/v1/registration_tokens */
  app.post(
    '/registration_tokens',
    {
      config: { admin: { area, verb: 'create' } },
      schema: {
        tags,
        summary: 'Create a registration token (random unless named)',
        body: Type.Object(
          {
            token: Type.Optional(TokenParam.properties.token),
            uses_allowed: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
            expiry_time: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'milliseconds since the epoch' })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) =>
      admin.registrationTokens.create(adminCaller(request), { token: request.body.token, usesAllowed: request.body.uses_allowed, expiryTs: request.body.expiry_time }),
  );

  /** DELETE /_caduceus/admin/v1/registration_tokens/{token} */
  app.delete('/registration_tokens/:token', { config: { admin: { area, verb: 'delete' } }, schema: { tags, summary: 'Delete a registration token', params: TokenParam } }, async (request) =>
    admin.registrationTokens.delete(adminCaller(request), request.params.token),
  );
}
