/** Server-side key backups (spec: "Server-side key backups", /room_keys). */
import { Type } from 'typebox';
import { principal, requireAuth } from '../../http/authenticate.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';

const AlgorithmField = Type.String({ minLength: 1, maxLength: 255 });
const AuthData = Type.Record(Type.String(), Type.Unknown());
const VersionField = Type.String({ minLength: 1, maxLength: 64 });
const RoomIdField = Type.String({ minLength: 3, maxLength: 255, pattern: '^!' });
const SessionIdField = Type.String({ minLength: 1, maxLength: 255 });

/** KeyBackupData: clear metadata the server compares, and session_data it cannot read. */
const KeyBackupData = Type.Object({
  first_message_index: Type.Integer({ minimum: 0 }),
  forwarded_count: Type.Integer({ minimum: 0 }),
  is_verified: Type.Boolean(),
  session_data: Type.Record(Type.String(), Type.Unknown()),
});
/** Room and session IDs used as keys are checked by the service (a record's key schema is not enforced). */
const RoomKeyBackup = Type.Object({ sessions: Type.Record(Type.String(), KeyBackupData) });

const VersionParams = Type.Object({ version: VersionField });
const VersionQuery = Type.Object({ version: VersionField });
const RoomParams = Type.Object({ roomId: RoomIdField });
const SessionParams = Type.Object({ roomId: RoomIdField, sessionId: SessionIdField });

const ROOM_KEYS = '/_matrix/client/v3/room_keys';

export function keyBackupRoutes(app: App, services: Services) {
  const auth = requireAuth(services.sessions);
  const backup = services.keyBackup;

  /** POST /_matrix/client/v3/room_keys/version */
  app.post(
    `${ROOM_KEYS}/version`,
    { onRequest: auth, schema: { body: Type.Object({ algorithm: AlgorithmField, auth_data: AuthData }) } },
    async (request) => backup.createVersion(principal(request).userId, request.body.algorithm, request.body.auth_data),
  );

  /** GET /_matrix/client/v3/room_keys/version */
  app.get(`${ROOM_KEYS}/version`, { onRequest: auth }, async (request) => backup.currentVersion(principal(request).userId));

  /** GET /_matrix/client/v3/room_keys/version/{version} */
  app.get(`${ROOM_KEYS}/version/:version`, { onRequest: auth, schema: { params: VersionParams } }, async (request) =>
    backup.getVersion(principal(request).userId, request.params.version),
  );

  /** PUT /_matrix/client/v3/room_keys/version/{version} */
  app.put(
    `${ROOM_KEYS}/version/:version`,
    {
      onRequest: auth,
      schema: { params: VersionParams, body: Type.Object({ algorithm: AlgorithmField, auth_data: AuthData, version: Type.Optional(VersionField) }) },
    },
    async (request) => backup.updateVersion(principal(request).userId, request.params.version, request.body),
  );

  /** DELETE /_matrix/client/v3/room_keys/version/{version} */
  app.delete(`${ROOM_KEYS}/version/:version`, { onRequest: auth, schema: { params: VersionParams } }, async (request) =>
    backup.deleteVersion(principal(request).userId, request.params.version),
  );

  /** PUT /_matrix/client/v3/room_keys/keys */
  app.put(
    `${ROOM_KEYS}/keys`,
    { onRequest: auth, schema: { querystring: VersionQuery, body: Type.Object({ rooms: Type.Record(Type.String(), RoomKeyBackup) }) } },
    async (request) => backup.putKeys(principal(request).userId, request.query.version, request.body.rooms),
  );

  /** GET /_matrix/client/v3/room_keys/keys */
  app.get(`${ROOM_KEYS}/keys`, { onRequest: auth, schema: { querystring: VersionQuery } }, async (request) =>
    backup.getAllKeys(principal(request).userId, request.query.version),
  );

  /** DELETE /_matrix/client/v3/room_keys/keys */
  app.delete(`${ROOM_KEYS}/keys`, { onRequest: auth, schema: { querystring: VersionQuery } }, async (request) =>
    backup.deleteKeys(principal(request).userId, request.query.version),
  );

  /** PUT /_matrix/client/v3/room_keys/keys/{roomId} */
  app.put(
    `${ROOM_KEYS}/keys/:roomId`,
    { onRequest: auth, schema: { params: RoomParams, querystring: VersionQuery, body: RoomKeyBackup } },
    async (request) => backup.putKeys(principal(request).userId, request.query.version, { [request.params.roomId]: request.body }),
  );

  /** GET /_matrix/client/v3/room_keys/keys/{roomId} */
  app.get(`${ROOM_KEYS}/keys/:roomId`, { onRequest: auth, schema: { params: RoomParams, querystring: VersionQuery } }, async (request) =>
    backup.getRoomKeys(principal(request).userId, request.query.version, request.params.roomId),
  );

  /** DELETE /_matrix/client/v3/room_keys/keys/{roomId} */
  app.delete(`${ROOM_KEYS}/keys/:roomId`, { onRequest: auth, schema: { params: RoomParams, querystring: VersionQuery } }, async (request) =>
    backup.deleteKeys(principal(request).userId, request.query.version, request.params.roomId),
  );

  /** PUT /_matrix/client/v3/room_keys/keys/{roomId}/{sessionId} */
  app.put(
    `${ROOM_KEYS}/keys/:roomId/:sessionId`,
    { onRequest: auth, schema: { params: SessionParams, querystring: VersionQuery, body: KeyBackupData } },
    async (request) =>
      backup.putKeys(principal(request).userId, request.query.version, { [request.params.roomId]: { sessions: { [request.params.sessionId]: request.body } } }),
  );

  /** GET /_matrix/client/v3/room_keys/keys/{roomId}/{sessionId} */
  app.get(`${ROOM_KEYS}/keys/:roomId/:sessionId`, { onRequest: auth, schema: { params: SessionParams, querystring: VersionQuery } }, async (request) =>
    backup.getSessionKey(principal(request).userId, request.query.version, request.params.roomId, request.params.sessionId),
  );

  /** DELETE /_matrix/client/v3/room_keys/keys/{roomId}/{sessionId} */
  app.delete(`${ROOM_KEYS}/keys/:roomId/:sessionId`, { onRequest: auth, schema: { params: SessionParams, querystring: VersionQuery } }, async (request) =>
    backup.deleteKeys(principal(request).userId, request.query.version, request.params.roomId, request.params.sessionId),
  );
}
