/**
 * Login, logout and token refresh (spec: "Login", "Refreshing access tokens"). Sign-in with a second
 * factor happens on the server's sign-in page (src/api/sign-in), reached through m.login.sso, and
 * ends here with m.login.token.
 */
import { Type } from 'typebox';
import { MatrixError } from '@caduceus/core';
import { principal, requireAuth } from '../../http/authenticate.ts';
import { limits } from '../../http/rate-limits.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { DeviceIdField, DeviceNameField, PasswordField } from './fields.ts';
import { sessionResponse } from './register.ts';
import type { NewSession } from '../../services/sessions.ts';
import { SIGN_IN_PROVIDER_ID } from '../sign-in/sso.ts';

const LoginBody = Type.Object({
  type: Type.String({ maxLength: 255 }),
  identifier: Type.Optional(
    Type.Object({
      type: Type.String({ maxLength: 255 }),
      user: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    }),
  ),
  /** Deprecated top-level user name, still sent by older clients. */
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  password: Type.Optional(PasswordField),
  /** m.login.token: the loginToken the SSO redirect brought back. */
  token: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  device_id: Type.Optional(DeviceIdField),
  initial_device_display_name: Type.Optional(DeviceNameField),
  refresh_token: Type.Optional(Type.Boolean()),
});

const RefreshBody = Type.Object({ refresh_token: Type.String({ minLength: 1, maxLength: 512 }) });

export function loginRoutes(app: App, services: Services) {
  /** GET /_matrix/client/v3/login */
  app.get('/_matrix/client/v3/login', async () => {
    const flows: Record<string, unknown>[] = [
      { type: 'm.login.sso', identity_providers: [{ id: SIGN_IN_PROVIDER_ID, name: `Caduceus (${services.config.serverName})` }] },
      { type: 'm.login.token' },
    ];
    // Listed only while someone may still use it (mfa: optional, or service accounts exist).
    if (await services.mfa.policy.passwordLoginOffered()) flows.push({ type: 'm.login.password' });
    return { flows };
  });

  /** POST /_matrix/client/v3/login */
  app.post('/_matrix/client/v3/login', { config: { rateLimit: limits.login }, schema: { body: LoginBody } }, async (request) => {
    const body = request.body;
    const sessionOptions = {
      deviceId: body.device_id,
      initialDeviceDisplayName: body.initial_device_display_name,
      refreshToken: body.refresh_token,
      clientAddress: request.ip,
    };
    const answer = (session: NewSession) => ({
      ...sessionResponse(session, services.config.serverName),
      well_known: { 'm.homeserver': { base_url: services.config.publicUrl } },
    });
    if (body.type === 'm.login.token') {
      if (body.token === undefined) throw new MatrixError('M_MISSING_PARAM', 'Missing field: token');
      return answer(await services.login.loginWithToken({ token: body.token, ...sessionOptions }));
    }
    if (body.type !== 'm.login.password') {
      throw new MatrixError('M_UNKNOWN', `Login type ${body.type} is not supported; use m.login.sso (then m.login.token) or m.login.password`, { status: 400 });
    }
    if (body.identifier && body.identifier.type !== 'm.id.user') {
      throw new MatrixError('M_UNKNOWN', `Identifier type ${body.identifier.type} is not supported; use m.id.user`, { status: 400 });
    }
    const user = body.identifier?.user ?? body.user;
    if (user === undefined) throw new MatrixError('M_MISSING_PARAM', 'Missing field: identifier.user');
    if (body.password === undefined) throw new MatrixError('M_MISSING_PARAM', 'Missing field: password');
    return answer(await services.login.loginWithPassword({ user, password: body.password, ...sessionOptions }));
  });

  /** POST /_matrix/client/v3/logout: ends this session (the device and its tokens). */
  app.post('/_matrix/client/v3/logout', { onRequest: requireAuth(services.sessions) }, async (request) => {
    const me = principal(request);
    await services.sessions.endDevices(me.userId, [me.deviceId]);
    return {};
  });

  /** POST /_matrix/client/v3/logout/all: ends every session of the user. */
  app.post('/_matrix/client/v3/logout/all', { onRequest: requireAuth(services.sessions) }, async (request) => {
    await services.sessions.endAllDevices(principal(request).userId);
    return {};
  });

  /** POST /_matrix/client/v3/refresh (and v1, where clients fall back to). */
  for (const path of ['/_matrix/client/v3/refresh', '/_matrix/client/v1/refresh']) {
    app.post(path, { config: { rateLimit: limits.refresh }, schema: { body: RefreshBody } }, async (request) => {
      const session = await services.sessions.refresh(request.body.refresh_token);
      return {
        access_token: session.accessToken,
        refresh_token: session.refreshToken,
        ...(session.expiresInMs !== undefined ? { expires_in_ms: session.expiresInMs } : {}),
      };
    });
  }
}
