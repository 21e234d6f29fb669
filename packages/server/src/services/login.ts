/** Password login (spec: POST /login with m.login.password and an m.id.user identifier). */
import { MatrixError, parseUserId } from '@caduceus/core';
import type { Storage } from '../storage/index.ts';
import type { LoginThrottle } from './login-throttle.ts';
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

const invalidCredentials = () => new MatrixError('M_FORBIDDEN', 'Invalid user name or password');

export class LoginService {
  readonly #storage: Storage;
  readonly #sessions: SessionService;
  readonly #throttle: LoginThrottle;
  readonly #serverName: string;

  constructor(storage: Storage, sessions: SessionService, throttle: LoginThrottle, serverName: string) {
    this.#storage = storage;
    this.#sessions = sessions;
    this.#throttle = throttle;
    this.#serverName = serverName;
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
    this.#throttle.check(accountKey, request.clientAddress);

    const user = userId ? await this.#storage.users.get(userId) : undefined;
    const ok = request.password.length <= MAX_PASSWORD_LENGTH && (await verifyPassword(user?.passwordHash ?? null, request.password));
    if (!ok || !user) {
      this.#throttle.recordFailure(accountKey, request.clientAddress);
      throw invalidCredentials();
    }
    // Said only to someone who knows the password, so it reveals nothing to a guesser.
    if (user.deactivated) throw new MatrixError('M_USER_DEACTIVATED', 'This account has been deactivated');
    this.#throttle.recordSuccess(accountKey);

    return this.#storage.transaction((stores) =>
      this.#sessions.create(stores, user.userId, {
        deviceId: request.deviceId,
        displayName: request.initialDeviceDisplayName,
        refreshable: request.refreshToken === true,
      }),
    );
  }
}
