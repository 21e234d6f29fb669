/** Registration (spec: "Account registration and management"). */
import { Type } from 'typebox';
import { MatrixError } from '@caduceus/core';
import { limits } from '../../http/rate-limits.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import type { NewSession } from '../../services/sessions.ts';
import { DeviceIdField, DeviceNameField, PasswordField } from './fields.ts';

export const RegisterBody = Type.Object({
  username: Type.Optional(Type.String({ maxLength: 1024 })),
  password: Type.Optional(PasswordField),
  device_id: Type.Optional(DeviceIdField),
  initial_device_display_name: Type.Optional(DeviceNameField),
  inhibit_login: Type.Optional(Type.Boolean()),
  refresh_token: Type.Optional(Type.Boolean()),
  auth: Type.Optional(Type.Unknown()),
});

/** The login-style answer shared by /register and /login. */
export function sessionResponse(session: Partial<NewSession> & { userId: string }, serverName?: string) {
  return {
    user_id: session.userId,
    ...(session.accessToken !== undefined
      ? {
          access_token: session.accessToken,
          device_id: session.deviceId,
          ...(session.refreshToken !== undefined ? { refresh_token: session.refreshToken } : {}),
          ...(session.expiresInMs !== undefined ? { expires_in_ms: session.expiresInMs } : {}),
          ...(serverName !== undefined ? { home_server: serverName } : {}),
        }
      : {}),
  };
}

export function registerRoutes(app: App, services: Services) {
  /** POST /_matrix/client/v3/register */
  app.post(
    '/_matrix/client/v3/register',
    {
      config: { rateLimit: limits.register },
      schema: { body: RegisterBody, querystring: Type.Object({ kind: Type.Optional(Type.String()) }) },
    },
    async (request) => {
      const kind = request.query.kind ?? 'user';
      if (kind !== 'user' && kind !== 'guest') throw new MatrixError('M_INVALID_PARAM', 'kind must be "user" or "guest"');
      const body = request.body;
      const result = await services.accounts.register({
        username: body.username,
        password: body.password,
        deviceId: body.device_id,
        initialDeviceDisplayName: body.initial_device_display_name,
        inhibitLogin: body.inhibit_login,
        refreshToken: body.refresh_token,
        auth: body.auth,
        kind,
        clientAddress: request.ip,
      });
      return {
        ...sessionResponse(result),
        // Like inhibit_login: no session. Says why, and how the person signs in (spec clients show "sign in now").
        ...(result.secondFactorRequired
          ? {
              'org.caduceus.sign_in_required': {
                reason: 'mfa_required',
                login_type: 'm.login.sso',
                message: 'Your account was created. Sign in through single sign-on to set up your second factor.',
              },
            }
          : {}),
      };
    },
  );

  /** GET /_matrix/client/v3/register/available */
  app.get(
    '/_matrix/client/v3/register/available',
    {
      config: { rateLimit: limits.register },
      schema: { querystring: Type.Object({ username: Type.String({ maxLength: 1024 }) }) },
    },
    async (request) => {
      await services.accounts.checkAvailable(request.query.username);
      return { available: true };
    },
  );

  /** GET /_matrix/client/v1/register/m.login.registration_token/validity */
  app.get(
    '/_matrix/client/v1/register/m.login.registration_token/validity',
    {
      config: { rateLimit: limits.registrationTokenValidity },
      schema: { querystring: Type.Object({ token: Type.String({ minLength: 1, maxLength: 64 }) }) },
    },
    async (request) => ({ valid: await services.registrationTokens.isValid(request.query.token) }),
  );
}
