/**
 * The built-in sign-in page under /_caduceus/sign-in: password, then a second factor (or enrolment),
 * then the flow's completion (for SSO: back to the client with a login token). HTML forms posted as
 * application/x-www-form-urlencoded; every form carries the flow's CSRF token; answers are never
 * cached or framed and run no inline script.
 */
import { readFileSync } from 'node:fs';
import { Type } from 'typebox';
import { MatrixError } from '@caduceus/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { toMatrixError } from '../../http/errors.ts';
import { limits } from '../../http/rate-limits.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import type { Flow, StepResult } from '../../services/mfa/index.ts';
import { clearFlowCookie, flowCookie, SIGN_IN_PATH } from './cookies.ts';
import { flowPage, messagePage } from './templates.ts';
import { confirmedPage } from './account-templates.ts';
import { accountPageRoutes } from './account-routes.ts';

const STATIC_FILES: Record<string, { type: string; body: string }> = {
  'webauthn.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(new URL('./static/webauthn.js', import.meta.url), 'utf8') },
  'sign-in.css': { type: 'text/css; charset=utf-8', body: readFileSync(new URL('./static/sign-in.css', import.meta.url), 'utf8') },
  'auth-done.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(new URL('./static/auth-done.js', import.meta.url), 'utf8') },
};

const MAX_FORM_BYTES = 32 * 1024;
const Csrf = Type.Optional(Type.String({ maxLength: 256 }));
const PasswordForm = Type.Object({ csrf: Csrf, user: Type.String({ maxLength: 255 }), password: Type.String({ maxLength: 1024 }) });
export const CodeForm = Type.Object({ csrf: Csrf, code: Type.String({ maxLength: 64 }) });
export const CredentialForm = Type.Object({ csrf: Csrf, credential: Type.String({ maxLength: 16 * 1024 }) });
export const EmptyForm = Type.Object({ csrf: Csrf });
const StaticParams = Type.Object({ file: Type.String({ maxLength: 64 }) });

function securityHeaders(reply: FastifyReply, formDestination?: string) {
  // A finished flow redirects the form's POST to the client, so form-action must allow that target.
  const formAction = ["'self'", formDestination].filter(Boolean).join(' ');
  reply.header(
    'Content-Security-Policy',
    `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
  );
  reply.header('X-Frame-Options', 'DENY');
  reply.header('Cache-Control', 'no-store');
}

export function sendHtml(reply: FastifyReply, status: number, body: string, formDestination?: string) {
  securityHeaders(reply, formDestination);
  return reply.code(status).type('text/html; charset=utf-8').send(body);
}

const noFlow = (reply: FastifyReply, publicUrl: string) => {
  clearFlowCookie(reply, publicUrl);
  return sendHtml(reply, 400, messagePage('Sign-in expired', 'This sign-in has expired or was not started here. Go back to your app and sign in again.'));
};

export function signInPageRoutes(app: App, services: Services) {
  const { flows } = services.mfa;
  services.mfa.lockoutNotices?.useLogger(app.log);
  const publicUrl = () => services.config.publicUrl;

  const respond = (reply: FastifyReply, flow: Flow, result: StepResult) => {
    if (result.kind === 'done') {
      if (!result.keepCookie) clearFlowCookie(reply, publicUrl());
      securityHeaders(reply);
      return reply.redirect(result.location, 303);
    }
    const destination = result.view.destination;
    if (result.kind === 'recovery_codes') return sendHtml(reply, 200, flowPage(result.view, undefined, result.codes), destination);
    return sendHtml(reply, result.status ?? 200, flowPage(result.view, result.error), destination);
  };

  /** Loads the flow of a form post and checks its CSRF token; answers the refusal itself otherwise. */
  const formFlow = async (request: FastifyRequest, csrf: string | undefined, reply: FastifyReply): Promise<Flow | undefined> => {
    const flow = await flows.load(flowCookie(request));
    if (!flow) {
      await noFlow(reply, publicUrl());
      return undefined;
    }
    if (!flows.csrfMatches(flow, csrf)) {
      await sendHtml(reply, 403, messagePage('Form refused', 'This form was not sent from this sign-in page. Reload the page and try again.'));
      return undefined;
    }
    return flow;
  };

  app.register(async (scope) => {
    const page = scope.withTypeProvider<TypeBoxTypeProvider>();
    page.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: MAX_FORM_BYTES }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    // Errors here become pages, not JSON: a person is reading.
    page.setErrorHandler((error, request, reply) => {
      const matrixError = toMatrixError(error);
      if (!matrixError) request.log.error({ err: error }, 'unhandled error on the sign-in page');
      const status = matrixError?.status ?? 500;
      const message = matrixError && status < 500 ? 'The form was incomplete or not valid. Go back and try again.' : 'Something went wrong on our side. Try again in a moment.';
      return sendHtml(reply, matrixError?.errcode === 'M_LIMIT_EXCEEDED' ? 429 : status, messagePage('Sign-in problem', message));
    });

    /** GET /_caduceus/sign-in: the current step of the browser's flow. */
    page.get(SIGN_IN_PATH, async (request, reply) => {
      const flow = await flows.load(flowCookie(request));
      if (!flow) return noFlow(reply, publicUrl());
      const view = await flows.view(flow);
      return sendHtml(reply, 200, flowPage(view), view.destination);
    });

    page.get(`${SIGN_IN_PATH}/static/:file`, { schema: { params: StaticParams } }, async (request, reply) => {
      const file = STATIC_FILES[request.params.file];
      if (!file) throw new MatrixError('M_NOT_FOUND', 'No such file');
      securityHeaders(reply);
      // Static and public, but versioned only by release: a short cache is enough.
      reply.header('Cache-Control', 'public, max-age=300');
      return reply.type(file.type).send(file.body);
    });

    const post = { config: { rateLimit: limits.login } };

    page.post(`${SIGN_IN_PATH}/password`, { ...post, schema: { body: PasswordForm } }, async (request, reply) => {
      const flow = await formFlow(request, request.body.csrf, reply);
      return flow && respond(reply, flow, await flows.submitPassword(flow, request.body.user.trim(), request.body.password, request.ip));
    });

    page.post(`${SIGN_IN_PATH}/totp`, { ...post, schema: { body: CodeForm } }, async (request, reply) => {
      const flow = await formFlow(request, request.body.csrf, reply);
      return flow && respond(reply, flow, await flows.submitTotp(flow, request.body.code, request.ip));
    });

    page.post(`${SIGN_IN_PATH}/webauthn`, { ...post, schema: { body: CredentialForm } }, async (request, reply) => {
      const flow = await formFlow(request, request.body.csrf, reply);
      return flow && respond(reply, flow, await flows.submitWebAuthn(flow, request.body.credential, request.ip));
    });

    page.post(`${SIGN_IN_PATH}/recovery`, { ...post, schema: { body: CodeForm } }, async (request, reply) => {
      const flow = await formFlow(request, request.body.csrf, reply);
      return flow && respond(reply, flow, await flows.submitRecoveryCode(flow, request.body.code, request.ip));
    });

    page.post(`${SIGN_IN_PATH}/enroll/totp`, { ...post, schema: { body: CodeForm } }, async (request, reply) => {
      const flow = await formFlow(request, request.body.csrf, reply);
      return flow && respond(reply, flow, await flows.confirmTotp(flow, request.body.code, request.ip));
    });

    page.post(`${SIGN_IN_PATH}/enroll/webauthn`, { ...post, schema: { body: CredentialForm } }, async (request, reply) => {
      const flow = await formFlow(request, request.body.csrf, reply);
      return flow && respond(reply, flow, await flows.registerWebAuthn(flow, request.body.credential, request.ip));
    });

    page.post(`${SIGN_IN_PATH}/continue`, { ...post, schema: { body: EmptyForm } }, async (request, reply) => {
      const flow = await formFlow(request, request.body.csrf, reply);
      return flow && respond(reply, flow, await flows.acknowledgeRecoveryCodes(flow, request.ip));
    });

    page.post(`${SIGN_IN_PATH}/skip`, { ...post, schema: { body: EmptyForm } }, async (request, reply) => {
      const flow = await formFlow(request, request.body.csrf, reply);
      return flow && respond(reply, flow, await flows.skipEnrollment(flow, request.ip));
    });

    /** The end of an m.login.sso confirmation: tells the client (spec "Fallback"). */
    page.get(`${SIGN_IN_PATH}/confirmed`, async (_request, reply) => sendHtml(reply, 200, confirmedPage()));

    accountPageRoutes(page, services, formFlow, respond);

    /** GET /_caduceus/sign-in/upstream: on to the organisation's identity provider. */
    page.get(`${SIGN_IN_PATH}/upstream`, post, async (request, reply) => {
      const upstream = services.mfa.upstream;
      const flow = await flows.load(flowCookie(request));
      if (!flow) return noFlow(reply, publicUrl());
      if (!upstream) throw new MatrixError('M_NOT_FOUND', 'No identity provider is configured');
      securityHeaders(reply);
      return reply.redirect(await upstream.start(flow), 303);
    });

    /** GET /_caduceus/sign-in/upstream/callback: back from the identity provider with a code. */
    page.get(`${SIGN_IN_PATH}/upstream/callback`, post, async (request, reply) => {
      const upstream = services.mfa.upstream;
      const flow = await flows.load(flowCookie(request));
      if (!flow) return noFlow(reply, publicUrl());
      if (!upstream) throw new MatrixError('M_NOT_FOUND', 'No identity provider is configured');
      try {
        return await respond(reply, flow, await upstream.finish(flow, new URL(request.url, publicUrl()), request.ip));
      } catch (err) {
        if (!(err instanceof MatrixError) || err.status >= 500) throw err;
        return respond(reply, flow, { kind: 'show', view: await flows.view(flow), error: err.message, status: err.status });
      }
    });

    page.post(`${SIGN_IN_PATH}/cancel`, { ...post, schema: { body: EmptyForm } }, async (request, reply) => {
      const flow = await formFlow(request, request.body.csrf, reply);
      if (!flow) return;
      await flows.discard(flow);
      clearFlowCookie(reply, publicUrl());
      return sendHtml(reply, 200, messagePage('Sign-in cancelled', 'You can close this page and go back to your app.'));
    });
  });
}
