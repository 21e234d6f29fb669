/**
 * The one place errors become HTTP answers: a MatrixError as {errcode, error} with its status,
 * framework errors (bad JSON, too large, schema violations) as the matching Matrix error, unknown
 * paths as 404 and known paths with the wrong method as 405 M_UNRECOGNIZED. Anything else is a
 * bug: logged with the request id and answered as a generic 500 M_UNKNOWN, never with its details.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import FindMyWay, { type HTTPVersion } from 'find-my-way';
import { MatrixError, UserInteractiveAuthRequired } from '@caduceus/core';

function fromValidation(error: FastifyError): MatrixError {
  const first = error.validation?.[0];
  const where = error.validationContext ?? 'body';
  const field =
    (first?.params as { missingProperty?: string } | undefined)?.missingProperty ??
    first?.instancePath?.replace(/^\//, '').replace(/\//g, '.') ??
    '';
  if (first?.keyword === 'required') {
    return new MatrixError('M_MISSING_PARAM', `Missing ${where === 'body' ? 'field' : 'parameter'}: ${field}`);
  }
  const what = field ? `${field} ${first?.message ?? 'is invalid'}` : `${where} ${first?.message ?? 'is invalid'}`;
  return where === 'body' ? new MatrixError('M_BAD_JSON', `Invalid JSON body: ${what}`) : new MatrixError('M_INVALID_PARAM', `Invalid ${where}: ${what}`);
}

/** Maps a thrown value to the Matrix error the client should see; undefined for a real bug. */
export function toMatrixError(error: unknown): MatrixError | undefined {
  if (error instanceof MatrixError) return error;
  const e = error as FastifyError & { statusCode?: number };
  if (e.validation) return fromValidation(e);
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new MatrixError('M_TOO_LARGE', 'Request body is too large');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new MatrixError('M_NOT_JSON', 'Request body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new MatrixError('M_NOT_JSON', 'Unsupported content type', { status: 415 });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new MatrixError('M_BAD_JSON', 'Content-Length does not match the body', { status: 400 });
  }
  if (e instanceof SyntaxError) return new MatrixError('M_NOT_JSON', 'Request body is not valid JSON');
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new MatrixError(e.statusCode === 404 ? 'M_NOT_FOUND' : 'M_BAD_JSON', 'Bad request', { status: e.statusCode });
  }
  return undefined;
}

export function sendMatrixError(reply: FastifyReply, error: MatrixError) {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.code(error.status).type('application/json').send(error.toJSON());
}

const METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD'] as const;

export function installErrorHandling(app: FastifyInstance) {
  // A second router that knows every path regardless of method, to tell 404 from 405.
  const knownPaths = FindMyWay<HTTPVersion.V1>();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'OPTIONS') continue;
      try {
        knownPaths.on(method as (typeof METHODS)[number], route.url, () => {});
      } catch {
        // already known (e.g. HEAD added next to GET)
      }
    }
  });

  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof UserInteractiveAuthRequired) {
      return reply.code(error.status).type('application/json').send(error.body);
    }
    const matrixError = toMatrixError(error);
    if (matrixError) return sendMatrixError(reply, matrixError);
    request.log.error({ err: error }, 'unhandled error');
    return sendMatrixError(reply, new MatrixError('M_UNKNOWN', 'Internal server error'));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = METHODS.filter((m) => knownPaths.find(m, path) !== null);
    if (allowed.length > 0) {
      return sendMatrixError(reply, new MatrixError('M_UNRECOGNIZED', `Method ${request.method} is not allowed here`, { status: 405, headers: { Allow: allowed.join(', ') } }));
    }
    return sendMatrixError(reply, new MatrixError('M_UNRECOGNIZED', 'Unrecognized request', { status: 404 }));
  });
}
