/** End-to-end encryption keys (spec: "End-to-End Encryption" key management, "Cross-signing"). */
import { Type } from 'typebox';
import { principal, requireAuth } from '../../http/authenticate.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { AuthField, DeviceIdField, UserIdField } from './fields.ts';

const KeyId = Type.String({ minLength: 1, maxLength: 255 });
const Signatures = Type.Record(Type.String(), Type.Record(Type.String(), Type.String()));
const AlgorithmField = Type.String({ minLength: 1, maxLength: 255 });

const DeviceKeys = Type.Object({
  user_id: Type.String(),
  device_id: Type.String(),
  algorithms: Type.Array(AlgorithmField, { maxItems: 64 }),
  keys: Type.Record(Type.String(), Type.String()),
  signatures: Signatures,
});

const KeyObjects = Type.Record(Type.String({ maxLength: 255 }), Type.Union([Type.String(), Type.Record(Type.String(), Type.Unknown())]), { maxProperties: 1000 });

const CrossSigningKey = Type.Object({
  user_id: Type.String(),
  usage: Type.Array(Type.String(), { maxItems: 16 }),
  keys: Type.Record(Type.String(), Type.String()),
  signatures: Type.Optional(Signatures),
});

/** Token of /sync (`s<position>`). */
const SyncToken = Type.String({ minLength: 1, maxLength: 64 });

export function keyRoutes(app: App, services: Services) {
  const auth = requireAuth(services.sessions);

  /** POST /_matrix/client/v3/keys/upload */
  app.post(
    '/_matrix/client/v3/keys/upload',
    {
      onRequest: auth,
      schema: { body: Type.Object({ device_keys: Type.Optional(DeviceKeys), one_time_keys: Type.Optional(KeyObjects), fallback_keys: Type.Optional(KeyObjects) }) },
    },
    async (request) => services.keys.upload(principal(request), request.body),
  );

  /** POST /_matrix/client/v3/keys/query */
  app.post(
    '/_matrix/client/v3/keys/query',
    {
      onRequest: auth,
      schema: {
        body: Type.Object({
          device_keys: Type.Record(UserIdField, Type.Array(DeviceIdField, { maxItems: 1000 }), { maxProperties: 1000 }),
          timeout: Type.Optional(Type.Integer()),
          token: Type.Optional(Type.String()),
        }),
      },
    },
    async (request) => services.keys.query(principal(request), request.body.device_keys),
  );

  /** POST /_matrix/client/v3/keys/claim */
  app.post(
    '/_matrix/client/v3/keys/claim',
    {
      onRequest: auth,
      schema: {
        body: Type.Object({
          one_time_keys: Type.Record(UserIdField, Type.Record(DeviceIdField, AlgorithmField, { maxProperties: 1000 }), { maxProperties: 1000 }),
          timeout: Type.Optional(Type.Integer()),
        }),
      },
    },
    async (request) => services.keys.claim(request.body.one_time_keys),
  );

  /** GET /_matrix/client/v3/keys/changes */
  app.get(
    '/_matrix/client/v3/keys/changes',
    { onRequest: auth, schema: { querystring: Type.Object({ from: SyncToken, to: SyncToken }) } },
    async (request) => services.keys.changes(principal(request), request.query.from, request.query.to),
  );

  /** POST /_matrix/client/v3/keys/device_signing/upload (user-interactive auth when replacing keys) */
  app.post(
    '/_matrix/client/v3/keys/device_signing/upload',
    {
      onRequest: auth,
      schema: {
        body: Type.Object({
          master_key: Type.Optional(CrossSigningKey),
          self_signing_key: Type.Optional(CrossSigningKey),
          user_signing_key: Type.Optional(CrossSigningKey),
          auth: AuthField,
        }),
      },
    },
    async (request) => {
      const { auth: uiaAuth, ...keys } = request.body;
      await services.keys.uploadCrossSigningKeys(principal(request), keys, uiaAuth, request.ip);
      return {};
    },
  );

  /** POST /_matrix/client/v3/keys/signatures/upload */
  app.post(
    '/_matrix/client/v3/keys/signatures/upload',
    {
      onRequest: auth,
      schema: { body: Type.Record(UserIdField, Type.Record(KeyId, Type.Record(Type.String(), Type.Unknown()), { maxProperties: 1000 }), { maxProperties: 1000 }) },
    },
    async (request) => services.keys.uploadSignatures(principal(request), request.body),
  );
}
