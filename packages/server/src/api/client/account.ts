/** The signed-in account: who am I, change password, deactivate. */
import { Type } from 'typebox';
import { principal, requireAuth } from '../../http/authenticate.ts';
import { limits } from '../../http/rate-limits.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { AuthField, PasswordField } from './fields.ts';

export function accountRoutes(app: App, services: Services) {
  const auth = requireAuth(services.sessions);

  /** GET /_matrix/client/v3/account/whoami */
  app.get('/_matrix/client/v3/account/whoami', { onRequest: auth }, async (request) => {
    const me = principal(request);
    return { user_id: me.userId, device_id: me.deviceId, is_guest: false };
  });

  /** POST /_matrix/client/v3/account/password */
  app.post(
    '/_matrix/client/v3/account/password',
    {
      onRequest: auth,
      config: { rateLimit: limits.accountChange },
      schema: { body: Type.Object({ new_password: PasswordField, logout_devices: Type.Optional(Type.Boolean()), auth: AuthField }) },
    },
    async (request) => {
      const { new_password, logout_devices, auth: authDict } = request.body;
      await services.accounts.changePassword(principal(request), new_password, logout_devices ?? true, authDict, request.ip);
      return {};
    },
  );

  /** POST /_matrix/client/v3/account/deactivate */
  app.post(
    '/_matrix/client/v3/account/deactivate',
    {
      onRequest: auth,
      config: { rateLimit: limits.accountChange },
      schema: {
        body: Type.Object({ auth: AuthField, erase: Type.Optional(Type.Boolean()), id_server: Type.Optional(Type.String({ maxLength: 255 })) }),
      },
    },
    async (request) => {
      await services.accounts.deactivate(principal(request), request.body.erase ?? false, request.body.auth, request.ip);
      return { id_server_unbind_result: 'no-support' };
    },
  );
}
