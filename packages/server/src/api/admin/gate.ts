/**
 * The door of the admin API: every admin route names its area and verb; before anything of the
 * request is read, the caller must be signed in (else 401) and hold a role that may use the area
 * (else 403 M_FORBIDDEN). A refused call is on the audit trail like a successful one.
 */
import type { FastifyRequest } from 'fastify';
import { MatrixError } from '@caduceus/core';
import { bearerToken } from '../../http/authenticate.ts';
import { noteAuthenticated } from '../../http/request-context.ts';
import type { Services } from '../../services/index.ts';
import type { AdminArea, AdminCaller } from '../../services/admin/index.ts';
import type { Principal } from '../../services/sessions.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The admin area and verb of a route (its audit action is `admin.<area>.<verb>`). */
    admin?: { area: AdminArea; verb: string };
  }
  interface FastifyRequest {
    adminCaller?: AdminCaller;
  }
}

export function adminGate(services: Services) {
  const { gatekeeper } = services.admin;
  return async (request: FastifyRequest) => {
    const route = request.routeOptions.config.admin;
    if (!route) return; // the documentation: public, like the source it describes
    const userAgent = typeof request.headers['user-agent'] === 'string' ? request.headers['user-agent'].slice(0, 512) : null;
    const from = { address: request.ip, userAgent };
    let principal: Principal;
    try {
      const token = bearerToken(request);
      if (!token) throw new MatrixError('M_MISSING_TOKEN', 'Missing access token');
      principal = await services.sessions.authenticate(token, request.ip, userAgent);
    } catch (err) {
      if (err instanceof MatrixError) await gatekeeper.unauthenticated(route.area, route.verb, from, err.errcode);
      throw err;
    }
    noteAuthenticated(request, principal);
    request.principal = principal;
    request.adminCaller = await gatekeeper.admit(principal, route.area, route.verb, from);
  };
}

/** The caller the gate let in. */
export function adminCaller(request: FastifyRequest): AdminCaller {
  if (!request.adminCaller) throw new MatrixError('M_FORBIDDEN', 'Not an admin route');
  return request.adminCaller;
}
