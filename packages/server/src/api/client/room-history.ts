/**
 * Reading rooms (spec: "Getting events for a room", "Event context", "Room membership",
 * "Relationships"): history, single events, state, members and relations.
 */
import { Type } from 'typebox';
import { principal, requireAuth } from '../../http/authenticate.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { asRoomEventFilter } from '../../services/rooms/history.ts';
import type { Principal } from '../../services/sessions.ts';
import { EventTypeField, RoomIdParam } from './fields.ts';

const RoomId = RoomIdParam.properties.roomId;
const EventId = Type.String({ minLength: 1, maxLength: 255 });
const TokenField = Type.Optional(Type.String({ maxLength: 64 }));
const Dir = Type.Union([Type.Literal('b'), Type.Literal('f')]);
const Limit = Type.Optional(Type.Integer({ minimum: 0 }));
const FilterParam = Type.Optional(Type.String({ maxLength: 65_536 }));
const Membership = Type.Optional(Type.Union(['join', 'invite', 'knock', 'leave', 'ban'].map((m) => Type.Literal(m))));

const EventParams = Type.Object({ roomId: RoomId, eventId: EventId });
const RelationsQuery = Type.Object({ from: TokenField, to: TokenField, limit: Limit, dir: Type.Optional(Dir), recurse: Type.Optional(Type.Boolean()) });

export function roomHistoryRoutes(app: App, services: Services) {
  const auth = requireAuth(services.sessions);
  const { history } = services;
  /** The `filter` parameter: inline JSON or a filter id, used as a RoomEventFilter. */
  const roomFilter = async (me: Principal, param: string | undefined) =>
    param === undefined ? undefined : asRoomEventFilter(await services.filters.resolve(me.userId, param));

  /** GET /_matrix/client/v3/rooms/{roomId}/messages */
  app.get(
    '/_matrix/client/v3/rooms/:roomId/messages',
    { onRequest: auth, schema: { params: RoomIdParam, querystring: Type.Object({ from: TokenField, to: TokenField, dir: Type.Optional(Dir), limit: Limit, filter: FilterParam }) } },
    async (request) => {
      const me = principal(request);
      const { from, to, dir, limit, filter } = request.query;
      return history.messages(me, request.params.roomId, { from, to, dir: dir ?? 'b', limit, filter: await roomFilter(me, filter) });
    },
  );

  /** GET /_matrix/client/v3/rooms/{roomId}/context/{eventId} */
  app.get(
    '/_matrix/client/v3/rooms/:roomId/context/:eventId',
    { onRequest: auth, schema: { params: EventParams, querystring: Type.Object({ limit: Limit, filter: FilterParam }) } },
    async (request) => {
      const me = principal(request);
      return history.context(me, request.params.roomId, request.params.eventId, request.query.limit, await roomFilter(me, request.query.filter));
    },
  );

  /** GET /_matrix/client/v3/rooms/{roomId}/event/{eventId} */
  app.get('/_matrix/client/v3/rooms/:roomId/event/:eventId', { onRequest: auth, schema: { params: EventParams } }, async (request) =>
    history.event(principal(request), request.params.roomId, request.params.eventId),
  );

  /** GET /_matrix/client/v3/rooms/{roomId}/state */
  app.get('/_matrix/client/v3/rooms/:roomId/state', { onRequest: auth, schema: { params: RoomIdParam } }, async (request) =>
    history.state(principal(request), request.params.roomId),
  );

  /** GET /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey} (the state key may be empty and omitted) */
  const StateQuery = Type.Object({ format: Type.Optional(Type.Union([Type.Literal('content'), Type.Literal('event')])) });
  app.get(
    '/_matrix/client/v3/rooms/:roomId/state/:eventType',
    { onRequest: auth, schema: { params: Type.Object({ roomId: RoomId, eventType: EventTypeField }), querystring: StateQuery } },
    async (request) => history.stateEvent(principal(request), request.params.roomId, request.params.eventType, '', request.query.format),
  );
  app.get(
    '/_matrix/client/v3/rooms/:roomId/state/:eventType/:stateKey',
    { onRequest: auth, schema: { params: Type.Object({ roomId: RoomId, eventType: EventTypeField, stateKey: Type.String({ maxLength: 255 }) }), querystring: StateQuery } },
    async (request) => history.stateEvent(principal(request), request.params.roomId, request.params.eventType, request.params.stateKey, request.query.format),
  );

  /** GET /_matrix/client/v3/rooms/{roomId}/members */
  app.get(
    '/_matrix/client/v3/rooms/:roomId/members',
    { onRequest: auth, schema: { params: RoomIdParam, querystring: Type.Object({ at: TokenField, membership: Membership, not_membership: Membership }) } },
    async (request) => history.members(principal(request), request.params.roomId, request.query),
  );

  /** GET /_matrix/client/v3/rooms/{roomId}/joined_members */
  app.get('/_matrix/client/v3/rooms/:roomId/joined_members', { onRequest: auth, schema: { params: RoomIdParam } }, async (request) =>
    history.joinedMembers(principal(request), request.params.roomId),
  );

  /** GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]] */
  const RelType = Type.String({ minLength: 1, maxLength: 255 });
  app.get('/_matrix/client/v1/rooms/:roomId/relations/:eventId', { onRequest: auth, schema: { params: EventParams, querystring: RelationsQuery } }, async (request) =>
    history.relations(principal(request), request.params.roomId, request.params.eventId, undefined, undefined, request.query),
  );
  app.get(
    '/_matrix/client/v1/rooms/:roomId/relations/:eventId/:relType',
    { onRequest: auth, schema: { params: Type.Object({ roomId: RoomId, eventId: EventId, relType: RelType }), querystring: RelationsQuery } },
    async (request) => history.relations(principal(request), request.params.roomId, request.params.eventId, request.params.relType, undefined, request.query),
  );
  app.get(
    '/_matrix/client/v1/rooms/:roomId/relations/:eventId/:relType/:eventType',
    { onRequest: auth, schema: { params: Type.Object({ roomId: RoomId, eventId: EventId, relType: RelType, eventType: EventTypeField }), querystring: RelationsQuery } },
    async (request) =>
      history.relations(principal(request), request.params.roomId, request.params.eventId, request.params.relType, request.params.eventType, request.query),
  );
}
