/**
 * Login (spec: POST /login): `m.login.password` with an m.id.user identifier where the MFA policy
 * allows it, and `m.login.token` with the single-use token the sign-in page hands out through SSO.
 */
import { MatrixError, parseUserId } from '@caduceus/core';
import type { AuditTrail } from '../compliance/audit/index.ts';
import type { Storage } from '../storage/index.ts';
import type { LoginThrottle } from './login-throttle.ts';
import type { AuthEvents } from './mfa/events.ts';
import type { LoginTokenService } from './mfa/login-tokens.ts';
import type { MfaPolicy } from './mfa/policy.ts';
import { MAX_PASSWORD_LENGTH, verifyPassword } from './passwords.ts';
import type { NewSession, SessionService } from './sessions.ts';

export interface PasswordLogin {
  /** The user as typed: a localpart or a full user id. */
  user: string;
  password: string;
  deviceId?: string | undefined;
  initialDeviceDisplayName?: string | undefined;
  refreshToken?: boolean | undefined;
  clientAddress: string;
}

export interface TokenLogin {
  token: string;
  deviceId?: string | undefined;
  initialDeviceDisplayName?: string | undefined;
  refreshToken?: boolean | undefined;
  clientAddress: string;
}

/** What login needs from the MFA side: who may use a password, the login tokens, lockout reports. */
export interface LoginMfa {
  policy: MfaPolicy;
  loginTokens: LoginTokenService;
  events: AuthEvents;
}

const invalidCredentials = () => new MatrixError('M_FORBIDDEN', 'Invalid user name or password');
const secondFactorRequired = () =>
  new MatrixError('M_FORBIDDEN', 'This account must sign in with a second factor: use single sign-on (m.login.sso), which completes with m.login.token');

export class LoginService {
  readonly #storage: Storage;
  readonly #sessions: SessionService;
  readonly #throttle: LoginThrottle;
  readonly #serverName: string;
  readonly #audit: AuditTrail;
  readonly #mfa: LoginMfa;

  constructor(storage: Storage, sessions: SessionService, throttle: LoginThrottle, serverName: string, audit: AuditTrail, mfa: LoginMfa) {
    this.#mfa = mfa;
    this.#storage = storage;
    this.#sessions = sessions;
    this.#throttle = throttle;
    this.#serverName = serverName;
    this.#audit = audit;
  }

  /** A refused sign-in, on record. The name typed is kept only when it is an account: it could be a mistyped password. */
  async #recordFailure(userId: string | undefined, exists: boolean, reason: string, method = 'm.login.password', outcome: 'failure' | 'refused' = 'failure') {
    await this.#audit.record({
      action: 'auth.login',
      outcome,
      actor: { userId: null, deviceId: null },
      target: exists && userId ? { userId } : {},
      details: { method, reason },
    });
  }

  /** Resolves what the user typed to a user id of this server, or undefined when it cannot be one. */
  resolveUserId(typed: string): string | undefined {
    const candidate = typed.startsWith('@') ? typed : `@${typed.toLowerCase()}:${this.#serverName}`;
    const parsed = parseUserId(candidate);
    return parsed && parsed.serverName === this.#serverName ? candidate : undefined;
  }

  async loginWithPassword(request: PasswordLogin): Promise<NewSession> {
    const userId = this.resolveUserId(request.user);
    // Throttle on what was typed, so guessing at names that do not exist is slowed down too.
    const accountKey = userId ?? request.user.toLowerCase();
    try {
      this.#throttle.check(accountKey, request.clientAddress);
    } catch (err) {
      await this.#recordFailure(userId, userId !== undefined && (await this.#storage.users.get(userId)) !== undefined, 'throttled');
      throw err;
    }

    const user = userId ? await this.#storage.users.get(userId) : undefined;
    const ok = request.password.length <= MAX_PASSWORD_LENGTH && (await verifyPassword(user?.passwordHash ?? null, request.password));
    if (!ok || !user) {
      const lockedOut = this.#throttle.recordFailure(accountKey, request.clientAddress);
      await this.#recordFailure(userId, user !== undefined, user ? 'wrong_password' : 'unknown_user');
      if (lockedOut && user) await this.#mfa.events.lockout({ userId: user.userId, address: request.clientAddress });
      throw invalidCredentials();
    }
    // Said only to someone who knows the password, so it reveals nothing to a guesser.
    if (user.deactivated) {
      await this.#recordFailure(userId, true, 'deactivated');
      throw new MatrixError('M_USER_DEACTIVATED', 'This account has been deactivated');
    }
    this.#throttle.recordSuccess(accountKey);
    // Checked after the password, so it tells a guesser nothing about the account's roles.
    if (!(await this.#mfa.policy.forUser(this.#storage, user.userId)).passwordLoginAllowed) {
      await this.#recordFailure(user.userId, true, 'mfa_required', 'm.login.password', 'refused');
      throw secondFactorRequired();
    }
    return this.#startSession(user.userId, 'm.login.password', request);
  }

  /** Exchanges a login token from the sign-in page (usable once, for two minutes) for a session. */
  async loginWithToken(request: TokenLogin): Promise<NewSession> {
    const userId = await this.#mfa.loginTokens.redeem(request.token);
    const user = userId ? await this.#storage.users.get(userId) : undefined;
    if (!user) {
      await this.#recordFailure(undefined, false, 'invalid_token', 'm.login.token');
      throw new MatrixError('M_FORBIDDEN', 'Invalid, expired or already used login token');
    }
    if (user.deactivated) {
      await this.#recordFailure(user.userId, true, 'deactivated', 'm.login.token');
      throw new MatrixError('M_USER_DEACTIVATED', 'This account has been deactivated');
    }
    return this.#startSession(user.userId, 'm.login.token', request);
  }

  async #startSession(
    userId: string,
    method: string,
    request: { deviceId?: string | undefined; initialDeviceDisplayName?: string | undefined; refreshToken?: boolean | undefined },
  ): Promise<NewSession> {
    const started = await this.#audit.transaction(async (stores) => {
      const session = await this.#sessions.create(stores, userId, {
        deviceId: request.deviceId,
        displayName: request.initialDeviceDisplayName,
        refreshable: request.refreshToken === true,
      });
      await this.#audit.record(
        {
          action: 'auth.login',
          outcome: 'success',
          actor: { userId: session.userId, deviceId: session.deviceId },
          target: { userId: session.userId, deviceId: session.deviceId },
          details: { method, refreshable: session.refreshToken !== undefined },
        },
        stores,
      );
      return session;
    });
    // A device signing in again: other server processes must refuse its earlier tokens before we answer.
    await this.#sessions.announced(started);
    return started;
  }
}
