/** Sending events, room state and redactions (spec: "Sending events to a room", "Redactions"). */
import { Type } from 'typebox';
import { principal, requireAuth } from '../../http/authenticate.ts';
import { limits } from '../../http/rate-limits.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { EventContent, EventTypeField, RoomIdParam, TxnIdField } from './fields.ts';
import { ATTACH_MEDIA_PARAM, MAX_ATTACHED_MEDIA } from '../../services/media-references.ts';

/** An mxc:// URI attached to an event (MSC3911). */
const AttachedMedia = Type.String({ maxLength: 600 });

export function roomEventRoutes(app: App, services: Services) {
  const auth = requireAuth(services.sessions);
  const { rooms } = services;

  /** PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId} */
  app.put(
    '/_matrix/client/v3/rooms/:roomId/send/:eventType/:txnId',
    {
      onRequest: auth,
      config: { rateLimit: limits.send },
      schema: {
        params: Type.Object({ roomId: RoomIdParam.properties.roomId, eventType: EventTypeField, txnId: TxnIdField }),
        querystring: Type.Object({ [ATTACH_MEDIA_PARAM]: Type.Optional(Type.Union([AttachedMedia, Type.Array(AttachedMedia, { maxItems: MAX_ATTACHED_MEDIA })])) }),
        body: EventContent,
      },
    },
    async (request) => {
      const attached = request.query[ATTACH_MEDIA_PARAM];
      return {
        event_id: await rooms.send(principal(request), request.params.roomId, request.params.eventType, request.params.txnId, request.body, attached === undefined ? [] : [attached].flat()),
      };
    },
  );

  /** PUT /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey} (the state key may be empty and omitted) */
  for (const withKey of [false, true]) {
    app.put(
      withKey ? '/_matrix/client/v3/rooms/:roomId/state/:eventType/:stateKey' : '/_matrix/client/v3/rooms/:roomId/state/:eventType',
      {
        onRequest: auth,
        config: { rateLimit: limits.send },
        schema: {
          params: Type.Object({ roomId: RoomIdParam.properties.roomId, eventType: EventTypeField, stateKey: Type.Optional(Type.String({ maxLength: 255 })) }),
          body: EventContent,
        },
      },
      async (request) => ({
        event_id: await rooms.setState(principal(request), request.params.roomId, request.params.eventType, request.params.stateKey ?? '', request.body),
      }),
    );
  }

  /** PUT /_matrix/client/v3/rooms/{roomId}/redact/{eventId}/{txnId} */
  app.put(
    '/_matrix/client/v3/rooms/:roomId/redact/:eventId/:txnId',
    {
      onRequest: auth,
      config: { rateLimit: limits.send },
      schema: {
        params: Type.Object({ roomId: RoomIdParam.properties.roomId, eventId: Type.String({ minLength: 1, maxLength: 255 }), txnId: TxnIdField }),
        body: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1024 })) }),
      },
    },
    async (request) => ({
      event_id: await rooms.redact(principal(request), request.params.roomId, request.params.eventId, request.params.txnId, request.body.reason),
    }),
  );
}
