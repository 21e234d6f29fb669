/** Client config (spec: "Client Config"): the user's own account data, global and per room. */
import { Type } from 'typebox';
import { principal, requireAuth } from '../../http/authenticate.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';

const UserIdField = Type.String({ minLength: 1, maxLength: 255 });
const TypeField = Type.String({ minLength: 1, maxLength: 255 });
const GlobalParams = Type.Object({ userId: UserIdField, type: TypeField });
const RoomParams = Type.Object({ userId: UserIdField, roomId: Type.String({ minLength: 1, maxLength: 255 }), type: TypeField });
/** Any JSON object; `{}` included (that is how clients clear a value). */
const Content = Type.Record(Type.String(), Type.Unknown());

export function accountDataRoutes(app: App, services: Services) {
  const auth = requireAuth(services.sessions);

  /** GET /_matrix/client/v3/user/{userId}/account_data/{type} */
  app.get('/_matrix/client/v3/user/:userId/account_data/:type', { onRequest: auth, schema: { params: GlobalParams } }, async (request) =>
    services.accountData.get(principal(request).userId, { userId: request.params.userId }, request.params.type),
  );

  /** PUT /_matrix/client/v3/user/{userId}/account_data/{type} */
  app.put(
    '/_matrix/client/v3/user/:userId/account_data/:type',
    { onRequest: auth, schema: { params: GlobalParams, body: Content } },
    async (request) => {
      const { userId, type } = request.params;
      await services.accountData.put(principal(request).userId, { userId }, type, request.body);
      return {};
    },
  );

  /** GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type} */
  app.get('/_matrix/client/v3/user/:userId/rooms/:roomId/account_data/:type', { onRequest: auth, schema: { params: RoomParams } }, async (request) => {
    const { userId, roomId, type } = request.params;
    return services.accountData.get(principal(request).userId, { userId, roomId }, type);
  });

  /** PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type} */
  app.put(
    '/_matrix/client/v3/user/:userId/rooms/:roomId/account_data/:type',
    { onRequest: auth, schema: { params: RoomParams, body: Content } },
    async (request) => {
      const { userId, roomId, type } = request.params;
      await services.accountData.put(principal(request).userId, { userId, roomId }, type, request.body);
      return {};
    },
  );
}
