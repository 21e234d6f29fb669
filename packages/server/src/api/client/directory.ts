/**
 * Room aliases, the room directory and the user directory (spec: "Room aliases", "Listing rooms",
 * "User directory"). Every route needs a signed-in caller: nothing here is listed anonymously.
 */
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { principal, requireAuth } from '../../http/authenticate.ts';
import type { RouteLimit } from '../../http/rate-limits.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { RoomIdParam } from './fields.ts';

const AliasParam = Type.Object({ roomAlias: Type.String({ minLength: 1, maxLength: 1024, pattern: '^#' }) });
const RoomIdField = RoomIdParam.properties.roomId;
const Visibility = Type.Union([Type.Literal('public'), Type.Literal('private')]);
const ServerQuery = Type.Object({ server: Type.Optional(Type.String({ maxLength: 255 })) });
const PageLimit = Type.Integer({ minimum: 1 });
const SinceToken = Type.String({ maxLength: 1024 });

const PublicRoomsBody = Type.Object({
  limit: Type.Optional(PageLimit),
  since: Type.Optional(SinceToken),
  filter: Type.Optional(
    Type.Object({
      generic_search_term: Type.Optional(Type.String({ maxLength: 1024 })),
      room_types: Type.Optional(Type.Array(Type.Union([Type.String({ maxLength: 255 }), Type.Null()]), { maxItems: 50 })),
    }),
  ),
  // No application services, so no third-party networks: accepted and ignored.
  include_all_networks: Type.Optional(Type.Boolean()),
  third_party_instance_id: Type.Optional(Type.String({ maxLength: 255 })),
});

const UserSearchBody = Type.Object({
  search_term: Type.String({ maxLength: 1024 }),
  limit: Type.Optional(Type.Integer({ minimum: 0 })),
});

/** Searching as one types: generous, but bounded so the directory cannot be walked quickly. */
const userSearchLimit: RouteLimit = {
  max: 120,
  timeWindow: 60_000,
  keyGenerator: (request: FastifyRequest) => (request.principal ? `user:${request.principal.userId}` : `ip:${request.ip}`),
};

export function directoryRoutes(app: App, services: Services) {
  const auth = requireAuth(services.sessions);
  const { aliases, publicRooms, users } = services.directory;

  /** PUT /_matrix/client/v3/directory/room/{roomAlias} */
  app.put(
    '/_matrix/client/v3/directory/room/:roomAlias',
    { onRequest: auth, schema: { params: AliasParam, body: Type.Object({ room_id: RoomIdField }) } },
    async (request) => {
      await aliases.setAlias(principal(request), request.params.roomAlias, request.body.room_id);
      return {};
    },
  );

  /** GET /_matrix/client/v3/directory/room/{roomAlias} */
  app.get('/_matrix/client/v3/directory/room/:roomAlias', { onRequest: auth, schema: { params: AliasParam } }, async (request) =>
    aliases.resolveAlias(request.params.roomAlias),
  );

  /** DELETE /_matrix/client/v3/directory/room/{roomAlias} */
  app.delete('/_matrix/client/v3/directory/room/:roomAlias', { onRequest: auth, schema: { params: AliasParam } }, async (request) => {
    await aliases.deleteAlias(principal(request), request.params.roomAlias);
    return {};
  });

  /** GET /_matrix/client/v3/rooms/{roomId}/aliases */
  app.get('/_matrix/client/v3/rooms/:roomId/aliases', { onRequest: auth, schema: { params: RoomIdParam } }, async (request) => ({
    aliases: await aliases.localAliases(principal(request), request.params.roomId),
  }));

  /** GET /_matrix/client/v3/directory/list/room/{roomId} */
  app.get('/_matrix/client/v3/directory/list/room/:roomId', { onRequest: auth, schema: { params: RoomIdParam } }, async (request) => ({
    visibility: await publicRooms.getVisibility(principal(request), request.params.roomId),
  }));

  /** PUT /_matrix/client/v3/directory/list/room/{roomId} (visibility defaults to public, as the spec says) */
  app.put(
    '/_matrix/client/v3/directory/list/room/:roomId',
    { onRequest: auth, schema: { params: RoomIdParam, body: Type.Object({ visibility: Type.Optional(Visibility) }) } },
    async (request) => {
      await publicRooms.setVisibility(principal(request), request.params.roomId, request.body.visibility ?? 'public');
      return {};
    },
  );

  /** GET /_matrix/client/v3/publicRooms */
  app.get(
    '/_matrix/client/v3/publicRooms',
    { onRequest: auth, schema: { querystring: Type.Object({ ...ServerQuery.properties, limit: Type.Optional(PageLimit), since: Type.Optional(SinceToken) }) } },
    async (request) => publicRooms.list(request.query),
  );

  /** POST /_matrix/client/v3/publicRooms */
  app.post('/_matrix/client/v3/publicRooms', { onRequest: auth, schema: { querystring: ServerQuery, body: PublicRoomsBody } }, async (request) =>
    publicRooms.list({ ...request.body, server: request.query.server }),
  );

  /** POST /_matrix/client/v3/user_directory/search */
  app.post(
    '/_matrix/client/v3/user_directory/search',
    { onRequest: auth, config: { rateLimit: userSearchLimit }, schema: { body: UserSearchBody } },
    async (request) => users.search(principal(request), request.body.search_term, request.body.limit),
  );
}
