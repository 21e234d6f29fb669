/** GET /_matrix/client/v3/sync (spec: "Syncing"), plus typing and receipts that it delivers. */
import { Type } from 'typebox';
import { bearerToken, principal, requireAuth } from '../../http/authenticate.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { RECEIPT_TYPES } from '../../services/rooms/receipts-typing.ts';
import type { SyncFilterLike } from '../../services/sync/event-filter.ts';
import { RoomIdParam } from './fields.ts';
import { ClientGone } from '../../services/notifier.ts';

const EventIdField = Type.String({ minLength: 1, maxLength: 255 });

export function syncRoutes(app: App, services: Services) {
  const auth = requireAuth(services.sessions);

  /** GET /_matrix/client/v3/sync */
  app.get(
    '/_matrix/client/v3/sync',
    {
      onRequest: auth,
      schema: {
        // Unknown parameters (e.g. _cacheBuster, org.matrix.msc4222.use_state_after) are ignored.
        querystring: Type.Object({
          since: Type.Optional(Type.String({ maxLength: 64 })),
          timeout: Type.Optional(Type.Integer({ minimum: 0 })),
          full_state: Type.Optional(Type.Boolean()),
          filter: Type.Optional(Type.String({ maxLength: 65_536 })),
          set_presence: Type.Optional(Type.String({ maxLength: 32 })),
        }),
      },
    },
    async (request, reply) => {
      const me = principal(request);
      const token = bearerToken(request)!;
      const filter = request.query.filter !== undefined ? ((await services.filters.resolve(me.userId, request.query.filter)) as SyncFilterLike) : undefined;
      // A long-poll ends early when the client goes away ('close' also follows every answer sent).
      const clientGone = new ClientGone();
      reply.raw.once('close', () => {
        if (!reply.raw.writableEnded) clientGone.goneNow();
      });
      return services.sync.sync(me, {
        since: request.query.since,
        timeoutMs: request.query.timeout ?? 0,
        fullState: request.query.full_state ?? false,
        filter,
        clientGone,
        checkSession: () => services.sessions.verify(token),
      });
    },
  );

  /** PUT /_matrix/client/v3/rooms/{roomId}/typing/{userId} */
  app.put(
    '/_matrix/client/v3/rooms/:roomId/typing/:userId',
    {
      onRequest: auth,
      schema: {
        params: Type.Object({ roomId: RoomIdParam.properties.roomId, userId: Type.String({ minLength: 1, maxLength: 255 }) }),
        body: Type.Object({ typing: Type.Boolean(), timeout: Type.Optional(Type.Integer({ minimum: 0 })) }),
      },
    },
    async (request) => {
      await services.receiptsTyping.setTyping(principal(request), request.params.roomId, request.params.userId, request.body.typing, request.body.timeout);
      return {};
    },
  );

  /** POST /_matrix/client/v3/rooms/{roomId}/receipt/{receiptType}/{eventId} */
  app.post(
    '/_matrix/client/v3/rooms/:roomId/receipt/:receiptType/:eventId',
    {
      onRequest: auth,
      schema: {
        params: Type.Object({
          roomId: RoomIdParam.properties.roomId,
          receiptType: Type.Union(RECEIPT_TYPES.map((t) => Type.Literal(t))),
          eventId: EventIdField,
        }),
        body: Type.Object({ thread_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) }),
      },
    },
    async (request) => {
      await services.receiptsTyping.receipt(principal(request), request.params.roomId, request.params.receiptType, request.params.eventId, request.body.thread_id);
      return {};
    },
  );

  /** POST /_matrix/client/v3/rooms/{roomId}/read_markers */
  app.post(
    '/_matrix/client/v3/rooms/:roomId/read_markers',
    {
      onRequest: auth,
      schema: {
        params: RoomIdParam,
        body: Type.Object({
          'm.fully_read': Type.Optional(EventIdField),
          'm.read': Type.Optional(EventIdField),
          'm.read.private': Type.Optional(EventIdField),
        }),
      },
    },
    async (request) => {
      await services.receiptsTyping.readMarkers(principal(request), request.params.roomId, request.body);
      return {};
    },
  );
}
