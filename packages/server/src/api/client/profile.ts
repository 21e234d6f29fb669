/** Profiles (spec: "Profiles"): display name and avatar. Reads need a token too: no anonymous directory. */
import { Type } from 'typebox';
import { principal, requireAuth } from '../../http/authenticate.ts';
import { limits } from '../../http/rate-limits.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';

const UserParams = Type.Object({ userId: Type.String({ minLength: 1, maxLength: 255 }) });

export function profileRoutes(app: App, services: Services) {
  const auth = requireAuth(services.sessions);
  const limited = { rateLimit: limits.accountChange };

  /** GET /_matrix/client/v3/profile/{userId} */
  app.get('/_matrix/client/v3/profile/:userId', { onRequest: auth, schema: { params: UserParams } }, async (request) =>
    services.profile.get(request.params.userId),
  );

  /** GET /_matrix/client/v3/profile/{userId}/displayname */
  app.get('/_matrix/client/v3/profile/:userId/displayname', { onRequest: auth, schema: { params: UserParams } }, async (request) =>
    services.profile.getField(request.params.userId, 'displayname'),
  );

  /** PUT /_matrix/client/v3/profile/{userId}/displayname */
  app.put(
    '/_matrix/client/v3/profile/:userId/displayname',
    { onRequest: auth, config: limited, schema: { params: UserParams, body: Type.Object({ displayname: Type.String() }) } },
    async (request) => {
      await services.profile.setDisplayname(principal(request).userId, request.params.userId, request.body.displayname);
      return {};
    },
  );

  /** GET /_matrix/client/v3/profile/{userId}/avatar_url */
  app.get('/_matrix/client/v3/profile/:userId/avatar_url', { onRequest: auth, schema: { params: UserParams } }, async (request) =>
    services.profile.getField(request.params.userId, 'avatar_url'),
  );

  /** PUT /_matrix/client/v3/profile/{userId}/avatar_url */
  app.put(
    '/_matrix/client/v3/profile/:userId/avatar_url',
    { onRequest: auth, config: limited, schema: { params: UserParams, body: Type.Object({ avatar_url: Type.String() }) } },
    async (request) => {
      await services.profile.setAvatarUrl(principal(request).userId, request.params.userId, request.body.avatar_url);
      return {};
    },
  );
}
