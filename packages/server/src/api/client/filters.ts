/** Filtering (spec: "Filtering"): upload and download sync filters. */
import { Type } from 'typebox';
import { principal, requireAuth } from '../../http/authenticate.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { FilterSchema } from '../../services/filters.ts';

const UserIdField = Type.String({ minLength: 1, maxLength: 255 });

export function filterRoutes(app: App, services: Services) {
  const auth = requireAuth(services.sessions);

  /** POST /_matrix/client/v3/user/{userId}/filter */
  app.post(
    '/_matrix/client/v3/user/:userId/filter',
    {
      onRequest: auth,
      schema: { params: Type.Object({ userId: UserIdField }), body: FilterSchema },
    },
    async (request) => ({
      filter_id: await services.filters.create(principal(request).userId, request.params.userId, request.body),
    }),
  );

  /** GET /_matrix/client/v3/user/{userId}/filter/{filterId} */
  app.get(
    '/_matrix/client/v3/user/:userId/filter/:filterId',
    { onRequest: auth, schema: { params: Type.Object({ userId: UserIdField, filterId: Type.String({ minLength: 1, maxLength: 255 }) }) } },
    async (request) => services.filters.get(principal(request).userId, request.params.userId, request.params.filterId),
  );
}
