/**
 * Builds the HTTP app: logging with secrets redacted, body limits, CORS, rate limits, one error
 * handler, then every API area. Routes stay thin; the services hold the logic.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyRequest } from 'fastify';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Services } from './services/index.ts';
import { installErrorHandling } from './http/errors.ts';
import { validatorCompiler } from './http/validation.ts';
import { installJsonBodyParser } from './http/json-body.ts';
import { installRequestContext } from './http/request-context.ts';
import { rateLimitError } from './http/rate-limits.ts';
import type { App } from './http/types.ts';
import { accountRoutes } from './api/client/account.ts';
import { deviceRoutes } from './api/client/devices.ts';
import { sessionPolicyRoutes } from './api/client/session-policy.ts';
import { discoveryRoutes } from './api/client/discovery.ts';
import { loginRoutes } from './api/client/login.ts';
import { ssoRoutes } from './api/sign-in/sso.ts';
import { signInPageRoutes } from './api/sign-in/routes.ts';
import { oauthRoutes } from './api/oauth/routes.ts';
import { registerRoutes } from './api/client/register.ts';
import { serverKeyRoutes } from './api/keys/server-key.ts';
import { pushRuleRoutes } from './api/client/push-rules.ts';
import { profileRoutes } from './api/client/profile.ts';
import { accountDataRoutes } from './api/client/account-data.ts';
import { filterRoutes } from './api/client/filters.ts';
import { roomRoutes } from './api/client/rooms.ts';
import { roomEventRoutes } from './api/client/room-events.ts';
import { syncRoutes } from './api/client/sync.ts';
import { toDeviceRoutes } from './api/client/to-device.ts';
import { directoryRoutes } from './api/client/directory.ts';
import { roomHistoryRoutes } from './api/client/room-history.ts';
import { keyRoutes } from './api/client/keys.ts';
import { keyBackupRoutes } from './api/client/key-backup.ts';
import { mediaRoutes } from './api/client/media.ts';
import { adminRoutes } from './api/admin/index.ts';
import { DEFAULT_WEB_ROOT, webAppRoutes } from './http/web-app.ts';

/** Logs show the path, never the query string (it can carry login tokens) and never bodies. */
function requestSummary(request: FastifyRequest) {
  return { id: request.id, method: request.method, path: request.url.split('?')[0], address: request.ip };
}

export interface AppOptions {
  /** Where logs go (default: stdout); tests capture them to check nothing secret is written. */
  logStream?: NodeJS.WritableStream;
  /** The built web app to serve at `/` (default: packages/web/dist when built); `false` serves none. */
  webRoot?: string | false;
}

export async function buildApp(services: Services, options: AppOptions = {}): Promise<App> {
  const { config } = services;
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'], censor: '[redacted]' },
      serializers: { req: requestSummary as never },
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    bodyLimit: config.maxJsonBodyBytes,
    trustProxy: config.trustProxy,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    // Matrix ids contain ':' and '@'; keep paths as sent, decoded segment by segment by the router.
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 1024 },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  // First hook of all: the audit trail reads who is asking from here.
  installRequestContext(app);
  installErrorHandling(app);

  installJsonBodyParser(app);

  await app.register(cors, {
    origin: '*',
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['X-Requested-With', 'Content-Type', 'Authorization'],
    maxAge: 86_400,
  });
  if (config.rateLimits) {
    await app.register(rateLimit, { global: false, hook: 'preHandler', errorResponseBuilder: rateLimitError });
  }

  // A callback hook, not an async one: every answer passes here, and most need not wait for anything.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('X-Request-Id', request.id);
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    // Answers carry tokens and personal data: no cache may keep them.
    if (!reply.hasHeader('Cache-Control')) reply.header('Cache-Control', 'no-store');
    // Nothing is answered while a commit (this request's, or one it may have read) could still be
    // lost to a power cut: on SQLite the log is synced off the event loop, for many commits at once.
    if (!services.durability.commitsPending) return done(null, payload);
    services.durability.durable().then(
      () => done(null, payload),
      (err: Error) => done(err),
    );
  });

  discoveryRoutes(app, services);
  registerRoutes(app, services);
  loginRoutes(app, services);
  ssoRoutes(app, services);
  signInPageRoutes(app, services);
  oauthRoutes(app, services);
  accountRoutes(app, services);
  deviceRoutes(app, services);
  sessionPolicyRoutes(app, services);
  serverKeyRoutes(app, services);
  pushRuleRoutes(app, services);
  profileRoutes(app, services);
  accountDataRoutes(app, services);
  filterRoutes(app, services);
  roomRoutes(app, services);
  roomEventRoutes(app, services);
  syncRoutes(app, services);
  toDeviceRoutes(app, services);
  directoryRoutes(app, services);
  roomHistoryRoutes(app, services);
  keyRoutes(app, services);
  keyBackupRoutes(app, services);
  mediaRoutes(app, services);
  await adminRoutes(app, services);

  // Organisation policies an administrator changed are kept in the database and win over the configuration.
  await services.admin.policies.load();
  if (services.config.database.kind === 'postgres') services.admin.policies.startRefreshing((err) => app.log.error({ err }, 'reloading the organisation policies failed'));
  app.addHook('onClose', async () => services.admin.policies.stop());

  if (options.webRoot !== false) webAppRoutes(app, options.webRoot ?? DEFAULT_WEB_ROOT);

  return app;
}
