/** Admin API: a user's devices and remote wipe. */
import { Type } from 'typebox';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { adminCaller } from './gate.ts';
import { UserIdParam } from './fields.ts';

const tags = ['devices'];
const area = 'devices' as const;
const DeviceParams = Type.Object({ ...UserIdParam.properties, deviceId: Type.String({ minLength: 1, maxLength: 255 }) });

export function adminDeviceRoutes(app: App, { admin }: Services) {
  /** GET /_caduceus/admin/v1/users/{userId}/devices */
  app.get(
    '/users/:userId/devices',
    { config: { admin: { area, verb: 'list' } }, schema: { tags, summary: "The user's devices (sessions) with when and where they were last seen", params: UserIdParam } },
    async (request) => admin.devices.list(adminCaller(request), request.params.userId),
  );

  /** POST /_caduceus/admin/v1/users/{userId}/devices/{deviceId}/wipe */
  app.post(
    '/users/:userId/devices/:deviceId/wipe',
    { config: { admin: { area, verb: 'wipe' } }, schema: { tags, summary: 'Remote wipe of one device: its session ends and its client is told to erase local data', params: DeviceParams } },
    async (request) => admin.devices.wipe(adminCaller(request), request.params.userId, request.params.deviceId),
  );

  /** POST /_caduceus/admin/v1/users/{userId}/devices/wipe */
  app.post(
    '/users/:userId/devices/wipe',
    { config: { admin: { area, verb: 'wipe_all' } }, schema: { tags, summary: 'Remote wipe of every device of the user', params: UserIdParam } },
    async (request) => admin.devices.wipeAll(adminCaller(request), request.params.userId),
  );
}
