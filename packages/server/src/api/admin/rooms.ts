/** Admin API: rooms (settings and membership, never messages) and blocking. */
import { Type } from 'typebox';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { adminCaller } from './gate.ts';
import { From, Limit, RoomIdParam } from './fields.ts';

const tags = ['rooms'];
const area = 'rooms' as const;

export function adminRoomRoutes(app: App, { admin }: Services) {
  /** GET /_caduceus/admin/v1/rooms */
  app.get(
    '/rooms',
    {
      config: { admin: { area, verb: 'list' } },
      schema: { tags, summary: 'List rooms, page by page', querystring: Type.Object({ from: Type.Optional(From), limit: Type.Optional(Limit) }) },
    },
    async (request) => admin.rooms.list(adminCaller(request), { from: request.query.from, limit: request.query.limit ?? 100 }),
  );

  /** GET /_caduceus/admin/v1/rooms/{roomId} */
  app.get(
    '/rooms/:roomId',
    { config: { admin: { area, verb: 'summary' } }, schema: { tags, summary: 'State summary: name, topic, encryption, join rules, member counts', params: RoomIdParam } },
    async (request) => admin.rooms.summary(adminCaller(request), request.params.roomId),
  );

  /** GET /_caduceus/admin/v1/rooms/{roomId}/members */
  app.get(
    '/rooms/:roomId/members',
    { config: { admin: { area, verb: 'members' } }, schema: { tags, summary: 'Current members and their membership', params: RoomIdParam } },
    async (request) => admin.rooms.members(adminCaller(request), request.params.roomId),
  );

  /** PUT /_caduceus/admin/v1/rooms/{roomId}/block */
  app.put(
    '/rooms/:roomId/block',
    {
      config: { admin: { area, verb: 'block' } },
      schema: {
        tags,
        summary: 'Block (or unblock) a room: a blocked room refuses new joins, invites and sends',
        params: RoomIdParam,
        body: Type.Object({ blocked: Type.Boolean() }, { additionalProperties: false }),
      },
    },
    async (request) => admin.rooms.setBlocked(adminCaller(request), request.params.roomId, request.body.blocked),
  );
}
