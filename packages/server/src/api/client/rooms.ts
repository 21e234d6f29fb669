/** Creating rooms and changing membership (spec: "Room creation", "Room membership"). */
import { Type } from 'typebox';
import { principal, requireAuth } from '../../http/authenticate.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { RoomIdParam, UserIdField } from './fields.ts';

const StateEventInput = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 255 }),
  state_key: Type.Optional(Type.String({ maxLength: 255 })),
  content: Type.Record(Type.String(), Type.Unknown()),
});

const CreateRoomBody = Type.Object({
  visibility: Type.Optional(Type.Union([Type.Literal('public'), Type.Literal('private')])),
  room_alias_name: Type.Optional(Type.String({ maxLength: 255 })),
  name: Type.Optional(Type.String({ maxLength: 1024 })),
  topic: Type.Optional(Type.String({ maxLength: 8192 })),
  invite: Type.Optional(Type.Array(UserIdField, { maxItems: 100 })),
  invite_3pid: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 0 })),
  room_version: Type.Optional(Type.String({ maxLength: 32 })),
  creation_content: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  initial_state: Type.Optional(Type.Array(StateEventInput, { maxItems: 100 })),
  preset: Type.Optional(Type.Union([Type.Literal('private_chat'), Type.Literal('trusted_private_chat'), Type.Literal('public_chat')])),
  is_direct: Type.Optional(Type.Boolean()),
  power_level_content_override: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

const Reason = Type.Optional(Type.String({ maxLength: 1024 }));
const TargetBody = Type.Object({ user_id: UserIdField, reason: Reason });

export function roomRoutes(app: App, services: Services) {
  const auth = requireAuth(services.sessions);
  const { rooms } = services;

  /** POST /_matrix/client/v3/createRoom */
  app.post('/_matrix/client/v3/createRoom', { onRequest: auth, schema: { body: CreateRoomBody } }, async (request) => ({
    room_id: await rooms.createRoom(principal(request), request.body),
  }));

  /** POST /_matrix/client/v3/join/{roomIdOrAlias} */
  app.post(
    '/_matrix/client/v3/join/:roomIdOrAlias',
    { onRequest: auth, schema: { params: Type.Object({ roomIdOrAlias: Type.String({ minLength: 1, maxLength: 255 }) }), body: Type.Object({ reason: Reason }) } },
    async (request) => ({ room_id: await rooms.join(principal(request), request.params.roomIdOrAlias, request.body.reason) }),
  );

  /** POST /_matrix/client/v3/rooms/{roomId}/join */
  app.post('/_matrix/client/v3/rooms/:roomId/join', { onRequest: auth, schema: { params: RoomIdParam, body: Type.Object({ reason: Reason }) } }, async (request) => ({
    room_id: await rooms.join(principal(request), request.params.roomId, request.body.reason),
  }));

  /** POST /_matrix/client/v3/rooms/{roomId}/invite */
  app.post('/_matrix/client/v3/rooms/:roomId/invite', { onRequest: auth, schema: { params: RoomIdParam, body: TargetBody } }, async (request) => {
    await rooms.invite(principal(request), request.params.roomId, request.body.user_id, request.body.reason);
    return {};
  });

  /** POST /_matrix/client/v3/rooms/{roomId}/leave */
  app.post('/_matrix/client/v3/rooms/:roomId/leave', { onRequest: auth, schema: { params: RoomIdParam, body: Type.Object({ reason: Reason }) } }, async (request) => {
    await rooms.leave(principal(request), request.params.roomId, request.body.reason);
    return {};
  });

  /** POST /_matrix/client/v3/rooms/{roomId}/forget */
  app.post('/_matrix/client/v3/rooms/:roomId/forget', { onRequest: auth, schema: { params: RoomIdParam } }, async (request) => {
    await rooms.forget(principal(request), request.params.roomId);
    return {};
  });

  /** POST /_matrix/client/v3/rooms/{roomId}/kick, /ban, /unban */
  for (const action of ['kick', 'ban', 'unban'] as const) {
    app.post(`/_matrix/client/v3/rooms/:roomId/${action}`, { onRequest: auth, schema: { params: RoomIdParam, body: TargetBody } }, async (request) => {
      await rooms[action](principal(request), request.params.roomId, request.body.user_id, request.body.reason);
      return {};
    });
  }

  /** GET /_matrix/client/v3/joined_rooms */
  app.get('/_matrix/client/v3/joined_rooms', { onRequest: auth }, async (request) => ({
    joined_rooms: await rooms.joinedRooms(principal(request).userId),
  }));
}
