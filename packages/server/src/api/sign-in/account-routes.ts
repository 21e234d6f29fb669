/**
 * The account page, /_caduceus/sign-in/account: a person's own second factors. Opening it without a
 * fresh sign-in starts one (password and second factor) that ends back here; every change is a form
 * post carrying the flow's CSRF token, like the rest of the sign-in page.
 */
import { Type } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { limits } from '../../http/rate-limits.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import type { AccountResult, Flow, StepResult } from '../../services/mfa/index.ts';
import { clearFlowCookie, flowCookie, setFlowCookie, SIGN_IN_PATH } from './cookies.ts';
import { messagePage } from './templates.ts';
import { accountPage } from './account-templates.ts';
import { CodeForm, CredentialForm, EmptyForm, sendHtml } from './routes.ts';

const ACCOUNT = `${SIGN_IN_PATH}/account`;
const RemoveForm = Type.Object({
  csrf: Type.Optional(Type.String({ maxLength: 256 })),
  factor: Type.Union([Type.Literal('totp'), Type.Literal('webauthn')]),
  credential_id: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
});

type FormFlow = (request: FastifyRequest, csrf: string | undefined, reply: FastifyReply) => Promise<Flow | undefined>;
type Respond = (reply: FastifyReply, flow: Flow, result: StepResult) => unknown;

export function accountPageRoutes(page: App, services: Services, formFlow: FormFlow, respond: Respond) {
  const { flows, factors, account } = services.mfa;
  const show = (reply: FastifyReply, result: AccountResult) =>
    sendHtml(reply, result.status ?? 200, accountPage(result.view, result), result.view.destination);

  /** The account-page flow of a form post, or the refusal already sent. */
  const accountFlow = async (request: FastifyRequest, csrf: string | undefined, reply: FastifyReply): Promise<Flow | undefined> => {
    const flow = await formFlow(request, csrf, reply);
    if (flow && !factors.userOf(flow)) {
      // Another stage of a sign-in: show that stage, nothing here applies.
      await respond(reply, flow, { kind: 'show', view: await flows.view(flow), status: 403, error: 'Sign in first to manage your sign-in methods.' });
      return undefined;
    }
    return flow;
  };

  /** GET /_caduceus/sign-in/account: the page, or a fresh sign-in that leads to it. */
  page.get(ACCOUNT, { config: { rateLimit: limits.login } }, async (request, reply) => {
    const flow = await flows.load(flowCookie(request));
    if (flow && factors.userOf(flow)) return show(reply, await factors.view(flow));
    setFlowCookie(reply, await flows.start(account.completionFor()), services.config.publicUrl);
    return reply.redirect(SIGN_IN_PATH, 302);
  });

  const post = { config: { rateLimit: limits.login } };

  page.post(`${ACCOUNT}/totp`, { ...post, schema: { body: CodeForm } }, async (request, reply) => {
    const flow = await accountFlow(request, request.body.csrf, reply);
    return flow && show(reply, await factors.addTotp(flow, request.body.code, request.ip));
  });

  page.post(`${ACCOUNT}/webauthn`, { ...post, schema: { body: CredentialForm } }, async (request, reply) => {
    const flow = await accountFlow(request, request.body.csrf, reply);
    return flow && show(reply, await factors.addPasskey(flow, request.body.credential, request.ip));
  });

  page.post(`${ACCOUNT}/remove`, { ...post, schema: { body: RemoveForm } }, async (request, reply) => {
    const flow = await accountFlow(request, request.body.csrf, reply);
    return flow && show(reply, await factors.remove(flow, request.body.factor, request.body.credential_id, request.ip));
  });

  page.post(`${ACCOUNT}/recovery-codes`, { ...post, schema: { body: EmptyForm } }, async (request, reply) => {
    const flow = await accountFlow(request, request.body.csrf, reply);
    return flow && show(reply, await factors.regenerateRecoveryCodes(flow, request.ip));
  });

  page.post(`${ACCOUNT}/done`, { ...post, schema: { body: EmptyForm } }, async (request, reply) => {
    const flow = await accountFlow(request, request.body.csrf, reply);
    if (!flow) return;
    await flows.discard(flow);
    clearFlowCookie(reply, services.config.publicUrl);
    return sendHtml(reply, 200, messagePage('Done', 'Your changes are saved. You can close this page.'));
  });
}
