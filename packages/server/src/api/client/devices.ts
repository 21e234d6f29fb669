/** The user's devices (spec: "Device Management"). */
import { Type } from 'typebox';
import { principal, requireAuth } from '../../http/authenticate.ts';
import { limits } from '../../http/rate-limits.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { AuthField, DeviceIdField, DeviceNameField } from './fields.ts';

const DeviceParams = Type.Object({ deviceId: Type.String({ minLength: 1, maxLength: 255 }) });

export function deviceRoutes(app: App, services: Services) {
  const auth = requireAuth(services.sessions);

  /** GET /_matrix/client/v3/devices */
  app.get('/_matrix/client/v3/devices', { onRequest: auth }, async (request) => ({
    devices: await services.devices.list(principal(request).userId),
  }));

  /** GET /_matrix/client/v3/devices/{deviceId} */
  app.get('/_matrix/client/v3/devices/:deviceId', { onRequest: auth, schema: { params: DeviceParams } }, async (request) =>
    services.devices.get(principal(request).userId, request.params.deviceId),
  );

  /** PUT /_matrix/client/v3/devices/{deviceId} */
  app.put(
    '/_matrix/client/v3/devices/:deviceId',
    { onRequest: auth, schema: { params: DeviceParams, body: Type.Object({ display_name: Type.Optional(DeviceNameField) }) } },
    async (request) => {
      if (request.body.display_name !== undefined) {
        await services.devices.rename(principal(request).userId, request.params.deviceId, request.body.display_name);
      } else {
        await services.devices.get(principal(request).userId, request.params.deviceId);
      }
      return {};
    },
  );

  /** DELETE /_matrix/client/v3/devices/{deviceId} (user-interactive auth) */
  app.delete(
    '/_matrix/client/v3/devices/:deviceId',
    { onRequest: auth, config: { rateLimit: limits.accountChange }, schema: { params: DeviceParams, body: Type.Optional(Type.Object({ auth: AuthField })) } },
    async (request) => {
      await services.devices.delete(principal(request), [request.params.deviceId], request.body?.auth, request.ip, true);
      return {};
    },
  );

  /** POST /_matrix/client/v3/delete_devices (user-interactive auth) */
  app.post(
    '/_matrix/client/v3/delete_devices',
    {
      onRequest: auth,
      config: { rateLimit: limits.accountChange },
      schema: { body: Type.Object({ devices: Type.Array(DeviceIdField, { maxItems: 1000 }), auth: AuthField }) },
    },
    async (request) => {
      await services.devices.delete(principal(request), request.body.devices, request.body.auth, request.ip, false);
      return {};
    },
  );
}
