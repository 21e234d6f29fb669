/**
 * GET /_matrix/client/v3/login/sso/redirect (and /redirect/{idpId}): spec "Client login via SSO".
 * Starts a sign-in flow that returns to `redirectUrl` with a `loginToken`, sets its cookie and sends
 * the browser to the sign-in page.
 */
import { Type } from 'typebox';
import { MatrixError } from '@caduceus/core';
import type { FastifyReply } from 'fastify';
import { limits } from '../../http/rate-limits.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { setFlowCookie, SIGN_IN_PATH } from './cookies.ts';

/** The one identity provider GET /login advertises: this server's own sign-in page. */
export const SIGN_IN_PROVIDER_ID = 'caduceus';

const RedirectQuery = Type.Object({ redirectUrl: Type.String({ minLength: 1, maxLength: 2048 }) });
const FallbackParams = Type.Object({ authType: Type.String({ maxLength: 255 }) });
const FallbackQuery = Type.Object({ session: Type.String({ minLength: 1, maxLength: 64 }) });
const IdpParams = Type.Object({ idpId: Type.String({ maxLength: 255 }) });

export function ssoRoutes(app: App, services: Services) {
  const start = async (redirectUrl: string, reply: FastifyReply) => {
    const completion = services.mfa.sso.completionFor(redirectUrl);
    setFlowCookie(reply, await services.mfa.flows.start(completion), services.config.publicUrl);
    return reply.redirect(SIGN_IN_PATH, 302);
  };

  /**
   * GET /_matrix/client/v3/auth/m.login.sso/fallback/web?session=: the m.login.sso stage of
   * user-interactive auth. Starts a sign-in flow for the session's own user; when it succeeds the stage
   * is complete and the page's last step tells the client (spec "Fallback").
   */
  app.get(
    '/_matrix/client/v3/auth/:authType/fallback/web',
    { config: { rateLimit: limits.login }, schema: { params: FallbackParams, querystring: FallbackQuery } },
    async (request, reply) => {
      const uiaSso = services.mfa.uiaSso;
      if (request.params.authType !== 'm.login.sso' || !uiaSso) throw new MatrixError('M_UNRECOGNIZED', 'This server has no fallback page for that stage', { status: 404 });
      const completion = await uiaSso.completionFor(request.query.session);
      setFlowCookie(reply, await services.mfa.flows.start(completion), services.config.publicUrl);
      return reply.redirect(SIGN_IN_PATH, 302);
    },
  );

  /** GET /_matrix/client/v3/login/sso/redirect */
  app.get('/_matrix/client/v3/login/sso/redirect', { config: { rateLimit: limits.login }, schema: { querystring: RedirectQuery } }, async (request, reply) =>
    start(request.query.redirectUrl, reply),
  );

  /** GET /_matrix/client/v3/login/sso/redirect/{idpId} */
  app.get(
    '/_matrix/client/v3/login/sso/redirect/:idpId',
    { config: { rateLimit: limits.login }, schema: { params: IdpParams, querystring: RedirectQuery } },
    async (request, reply) => {
      if (request.params.idpId !== SIGN_IN_PROVIDER_ID) throw new MatrixError('M_NOT_FOUND', 'Unknown identity provider');
      return start(request.query.redirectUrl, reply);
    },
  );
}
