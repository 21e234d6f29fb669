/**
 * Turns the bearer token of a request into a principal. Tokens are accepted only in the
 * Authorization header: a token in a URL ends up in proxy logs and browser history.
 */
import type { FastifyRequest } from 'fastify';
import { MatrixError } from '@caduceus/core';
import type { Principal, SessionService } from '../services/sessions.ts';
import { noteAuthenticated } from './request-context.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const query = request.query as Record<string, unknown> | undefined;
  if (query && typeof query === 'object' && 'access_token' in query) {
    throw new MatrixError('M_MISSING_TOKEN', 'Access tokens in the URL are refused here; send them in the Authorization header');
  }
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new MatrixError('M_MISSING_TOKEN', 'The Authorization header must be "Bearer <access token>"');
  return match[1];
}

/** A preHandler for routes that need a signed-in user. */
export function requireAuth(sessions: SessionService) {
  return async (request: FastifyRequest) => {
    const token = bearerToken(request);
    if (!token) throw new MatrixError('M_MISSING_TOKEN', 'Missing access token');
    request.principal = await sessions.authenticate(token, request.ip, request.headers['user-agent'] ?? null);
    noteAuthenticated(request, request.principal);
  };
}

/** For routes that work with or without a signed-in user (e.g. /versions). */
export function optionalAuth(sessions: SessionService) {
  return async (request: FastifyRequest) => {
    const token = bearerToken(request);
    if (token) {
      request.principal = await sessions.authenticate(token, request.ip, request.headers['user-agent'] ?? null);
      noteAuthenticated(request, request.principal);
    }
  };
}

/** The principal of an authenticated route (set by requireAuth). */
export function principal(request: FastifyRequest): Principal {
  if (!request.principal) throw new MatrixError('M_MISSING_TOKEN', 'Missing access token');
  return request.principal;
}
