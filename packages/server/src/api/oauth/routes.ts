/**
 * Matrix's OAuth 2.0 API over HTTP:
 * - GET /_matrix/client/v1/auth_metadata (spec "OAuth 2.0 API", MSC2965): where the endpoints are.
 * - /_caduceus/oauth2/*: oidc-provider itself (authorization, token, registration, revocation,
 *   JWKS, discovery), handed the raw request: its own parsers read the bodies, so Fastify parses
 *   none there.
 * - GET /_caduceus/oauth2/interaction/{uid}: the provider needs a sign-in; start the sign-in page's
 *   flow for it (password and second factor) and send the browser there.
 */
import { Type } from 'typebox';
import { errors } from 'oidc-provider';
import type { FastifyReply } from 'fastify';
import { limits } from '../../http/rate-limits.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { INTERACTION_PATH, OAUTH_PREFIX } from '../../services/oauth/provider.ts';
import { setFlowCookie, SIGN_IN_PATH } from '../sign-in/cookies.ts';
import { messagePage } from '../sign-in/templates.ts';

const InteractionParams = Type.Object({ uid: Type.String({ minLength: 1, maxLength: 128 }) });
const METHODS = ['GET', 'POST', 'OPTIONS'] as const;

function page(reply: FastifyReply, status: number, title: string, message: string) {
  reply.header('Content-Security-Policy', "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'");
  reply.header('Cache-Control', 'no-store');
  return reply.code(status).type('text/html; charset=utf-8').send(messagePage(title, message));
}

export function oauthRoutes(app: App, services: Services) {
  const { oauth } = services;

  /** GET /_matrix/client/v1/auth_metadata (and the unstable MSC2965 path some clients still use). */
  for (const path of ['/_matrix/client/v1/auth_metadata', '/_matrix/client/unstable/org.matrix.msc2965/auth_metadata']) {
    app.get(path, async (_request, reply) => {
      reply.header('Cache-Control', 'public, max-age=3600');
      return oauth.metadata();
    });
  }

  app.register(async (scope) => {
    // The provider reads request bodies itself (and refuses what it cannot parse).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));

    /** GET /_caduceus/oauth2/interaction/{uid} */
    scope.get(`${INTERACTION_PATH}/:uid`, { config: { rateLimit: limits.login }, schema: { params: InteractionParams } }, async (request, reply) => {
      try {
        const start = await oauth.startInteraction(request.raw, reply.raw);
        if (start.kind === 'redirect') return reply.redirect(start.location, 303);
        setFlowCookie(reply, start.cookie, services.config.publicUrl);
        return reply.redirect(SIGN_IN_PATH, 303);
      } catch (err) {
        if (!(err instanceof errors.OIDCProviderError)) throw err;
        return page(reply, 400, 'Sign-in expired', 'This sign-in has expired or was not started in this browser. Go back to your app and sign in again.');
      }
    });

    // Registration is open to anyone: a tighter budget than the other endpoints.
    scope.post(`${OAUTH_PREFIX}/reg`, { config: { rateLimit: limits.register } }, async (request, reply) => {
      reply.hijack();
      oauth.handle(request.raw, reply.raw);
    });

    scope.route({
      method: [...METHODS],
      url: `${OAUTH_PREFIX}/*`,
      config: { rateLimit: limits.refresh },
      handler: async (request, reply) => {
        reply.hijack();
        oauth.handle(request.raw, reply.raw);
      },
    });
  });
}
