/**
 * The media repository (spec: "Content repository"). Uploads stay on the legacy /_matrix/media/v3
 * prefix (there is no v1 upload); downloads only on the authenticated /_matrix/client/v1/media
 * endpoints. The unauthenticated /_matrix/media/v3/download and /thumbnail are deliberately absent
 * (404 M_UNRECOGNIZED): media is PHI and goes only to signed-in users of this server.
 *
 * Upload bodies are raw bytes of any Content-Type, streamed to disk: the routes live in their own
 * Fastify scope whose only body parser hands the request stream through unread.
 */
import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { principal, requireAuth } from '../../http/authenticate.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { contentDisposition, MEDIA_ID_PATTERN, type MediaDownload } from '../../services/media.ts';

const ServerNameField = Type.String({ minLength: 1, maxLength: 255 });
const MediaIdField = Type.String({ pattern: MEDIA_ID_PATTERN });
const UploadQuery = Type.Object({ filename: Type.Optional(Type.String({ maxLength: 1024 })) });
const DownloadQuery = Type.Object({
  timeout_ms: Type.Optional(Type.Integer({ minimum: 0 })),
  allow_redirect: Type.Optional(Type.String()),
  allow_remote: Type.Optional(Type.String()),
});

/** Media is never run by the browser, whatever it claims to be. */
const MEDIA_CSP = "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; media-src 'self'; object-src 'self';";

/** The request body as a stream (the scope's parser hands it through unread). */
function bodyStream(request: FastifyRequest): Readable {
  const body = request.body as Readable | undefined;
  return body && typeof (body as Readable).pipe === 'function' ? body : request.raw;
}

/** A failed upload may leave part of the body unread: close the connection rather than drain it. */
async function closingOnError<T>(reply: FastifyReply, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    reply.header('Connection', 'close');
    throw err;
  }
}

export function mediaRoutes(app: App, services: Services) {
  const auth = requireAuth(services.sessions);
  const media = services.media;

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    /** POST /_matrix/media/v3/upload */
    scope.post('/_matrix/media/v3/upload', { onRequest: auth, schema: { querystring: UploadQuery } }, async (request, reply) =>
      closingOnError(reply, async () => {
        media.checkDeclaredLength(request.headers['content-length']);
        const query = request.query as { filename?: string };
        return media.upload(principal(request), bodyStream(request), request.headers['content-type'], query.filename);
      }),
    );

    /** PUT /_matrix/media/v3/upload/{serverName}/{mediaId} (content for a media id from /create) */
    scope.put(
      '/_matrix/media/v3/upload/:serverName/:mediaId',
      { onRequest: auth, schema: { params: Type.Object({ serverName: ServerNameField, mediaId: MediaIdField }), querystring: UploadQuery } },
      async (request, reply) =>
        closingOnError(reply, async () => {
          const { serverName, mediaId } = request.params as { serverName: string; mediaId: string };
          const who = principal(request);
          await media.checkUploadTo(who, serverName, mediaId);
          media.checkDeclaredLength(request.headers['content-length']);
          const query = request.query as { filename?: string };
          return media.uploadTo(who, serverName, mediaId, bodyStream(request), request.headers['content-type'], query.filename);
        }),
    );
  });

  /** POST /_matrix/media/v1/create */
  app.post('/_matrix/media/v1/create', { onRequest: auth }, async (request) => media.create(principal(request)));

  /** GET /_matrix/client/v1/media/config (and the legacy v3 path, also authenticated) */
  for (const path of ['/_matrix/client/v1/media/config', '/_matrix/media/v3/config']) {
    app.get(path, { onRequest: auth }, async () => ({ 'm.upload.size': media.maxUploadBytes }));
  }

  const download = async (request: FastifyRequest, reply: FastifyReply, params: { serverName: string; mediaId: string; fileName?: string }) => {
    const query = request.query as { timeout_ms?: number };
    const file = await media.download(params.serverName, params.mediaId, query.timeout_ms ?? MAX_WAIT_DEFAULT_MS);
    return sendFile(reply, file, params.fileName ?? file.fileName);
  };

  const sendFile = (reply: FastifyReply, file: MediaDownload, fileName: string | null) => {
    reply
      .header('Content-Type', file.contentType)
      .header('Content-Length', String(file.size))
      .header('Content-Disposition', contentDisposition(file.contentType, fileName))
      .header('Content-Security-Policy', MEDIA_CSP)
      .header('X-Content-Type-Options', 'nosniff')
      .header('Cross-Origin-Resource-Policy', 'cross-origin')
      .header('Cache-Control', 'private');
    return reply.send(file.stream);
  };

  /** GET /_matrix/client/v1/media/thumbnail/{serverName}/{mediaId} */
  app.get(
    '/_matrix/client/v1/media/thumbnail/:serverName/:mediaId',
    {
      onRequest: auth,
      schema: {
        params: Type.Object({ serverName: ServerNameField, mediaId: Type.String({ maxLength: 255 }) }),
        querystring: Type.Object({
          width: Type.Integer({ minimum: 1, maximum: 10_000 }),
          height: Type.Integer({ minimum: 1, maximum: 10_000 }),
          method: Type.Optional(Type.Enum(['crop', 'scale'])),
          animated: Type.Optional(Type.String()),
          timeout_ms: Type.Optional(Type.Integer({ minimum: 0 })),
          allow_redirect: Type.Optional(Type.String()),
          allow_remote: Type.Optional(Type.String()),
        }),
      },
    },
    async (request, reply) => {
      const { width, height, method, timeout_ms } = request.query;
      const file = await media.thumbnail(request.params.serverName, request.params.mediaId, { width, height, method: method ?? 'scale' }, timeout_ms ?? MAX_WAIT_DEFAULT_MS);
      return sendFile(reply, file, file.fileName);
    },
  );

  /** GET /_matrix/client/v1/media/download/{serverName}/{mediaId} */
  app.get(
    '/_matrix/client/v1/media/download/:serverName/:mediaId',
    { onRequest: auth, schema: { params: Type.Object({ serverName: ServerNameField, mediaId: Type.String({ maxLength: 255 }) }), querystring: DownloadQuery } },
    async (request, reply) => download(request, reply, request.params),
  );

  /** GET /_matrix/client/v1/media/download/{serverName}/{mediaId}/{fileName} */
  app.get(
    '/_matrix/client/v1/media/download/:serverName/:mediaId/:fileName',
    {
      onRequest: auth,
      schema: {
        params: Type.Object({ serverName: ServerNameField, mediaId: Type.String({ maxLength: 255 }), fileName: Type.String({ minLength: 1, maxLength: 255 }) }),
        querystring: DownloadQuery,
      },
    },
    async (request, reply) => download(request, reply, request.params),
  );
}

/** Spec default for how long a download waits for media not yet uploaded. */
const MAX_WAIT_DEFAULT_MS = 20_000;
