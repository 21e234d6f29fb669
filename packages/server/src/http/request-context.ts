/**
 * Who is asking, for the code far below the route that needs to know without being told: the audit
 * trail fills an entry's actor (address, user agent, user, device) and request id from here.
 *
 * An AsyncLocalStorage entered when the request arrives. Body parsing runs on the socket's own
 * callbacks, outside that context, so the context is entered again before validation; the object
 * is shared, so the principal noted after authentication is seen everywhere.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyRequest } from 'fastify';
import type { App } from './types.ts';

export interface RequestContext {
  requestId: string;
  address: string;
  userAgent: string | null;
  userId: string | null;
  deviceId: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    requestContext?: RequestContext;
  }
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The request being served by the current async flow, if any (none in the CLI or in timers). */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}

/** Runs `work` as if serving `context` (tests, and work done on behalf of a request elsewhere). */
export function runInRequestContext<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

/** Installs the hooks that open the context; call before any route is declared. */
export function installRequestContext(app: App): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const userAgent = request.headers['user-agent'];
    const context: RequestContext = {
      requestId: request.id,
      address: request.ip,
      // Bounded: a user agent is whatever the client sends.
      userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 512) : null,
      userId: null,
      deviceId: null,
    };
    request.requestContext = context;
    storage.run(context, done);
  });
  app.addHook('preValidation', (request, _reply, done) => {
    const context = request.requestContext;
    // Still inside it (no body was parsed, e.g. every GET): entering again would only copy the frame.
    if (context && storage.getStore() !== context) storage.run(context, done);
    else done();
  });
}

/** Records who the request turned out to be, once its token is checked. */
export function noteAuthenticated(request: FastifyRequest, principal: { userId: string; deviceId: string }): void {
  const context = request.requestContext;
  if (!context) return;
  context.userId = principal.userId;
  context.deviceId = principal.deviceId;
}
