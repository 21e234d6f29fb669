/** Accounts: registration, availability, password changes, deactivation, and creation by an administrator. */
import { MatrixError, isValidNewLocalpart, userId as makeUserId, MAX_USER_ID_LENGTH, type Role } from '@caduceus/core';
import type { AuditTrail } from '../compliance/audit/index.ts';
import type { Config } from '../config/config.ts';
import type { Storage, Stores } from '../storage/index.ts';
import type { Clock } from './clock.ts';
import { checkPasswordPolicy, hashPassword } from './passwords.ts';
import { randomString } from './secrets.ts';
import type { NewSession, Principal, SessionService } from './sessions.ts';
import type { Stage, UiaService } from './uia.ts';
import { SERVER_NOTICES_LOCALPART } from './server-notices.ts';
import type { StreamWriter } from './stream-writer.ts';

export interface RegisterRequest {
  username?: string | undefined;
  password?: string | undefined;
  deviceId?: string | undefined;
  initialDeviceDisplayName?: string | undefined;
  inhibitLogin?: boolean | undefined;
  refreshToken?: boolean | undefined;
  auth?: unknown;
  kind: 'user' | 'guest';
  clientAddress: string;
}

export type RegisterResult = { userId: string } & Partial<NewSession> & {
  /** Set when no session was handed out because the account must first sign in with a second factor (`mfa: required`). */
  secondFactorRequired?: true;
};

export class AccountService {
  readonly #config: Config;
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #sessions: SessionService;
  readonly #uia: UiaService;
  readonly #writer: StreamWriter;
  readonly #audit: AuditTrail;

  constructor(config: Config, storage: Storage, clock: Clock, sessions: SessionService, uia: UiaService, writer: StreamWriter, audit: AuditTrail) {
    this.#config = config;
    this.#storage = storage;
    this.#clock = clock;
    this.#sessions = sessions;
    this.#uia = uia;
    this.#writer = writer;
    this.#audit = audit;
  }

  #registrationFlows(): Stage[][] {
    switch (this.#config.registration) {
      case 'open':
        return [['m.login.dummy']];
      case 'token':
        return [['m.login.registration_token']];
      case 'closed':
        throw new MatrixError('M_FORBIDDEN', 'Registration is disabled on this server; ask an administrator for an account');
    }
  }

  /** Normalises a requested user name to a localpart, or throws M_INVALID_USERNAME. */
  #localpartFrom(username: string): string {
    const localpart = username.toLowerCase();
    if (!isValidNewLocalpart(localpart)) {
      throw new MatrixError('M_INVALID_USERNAME', 'User names may contain only a-z, 0-9 and . _ = - / +');
    }
    // The server's own system user: nobody may take its name and post as the server.
    if (localpart === SERVER_NOTICES_LOCALPART) throw new MatrixError('M_USER_IN_USE', 'That user name is reserved');
    if (new TextEncoder().encode(makeUserId(localpart, this.#config.serverName)).length > MAX_USER_ID_LENGTH) {
      throw new MatrixError('M_INVALID_USERNAME', 'User name is too long');
    }
    return localpart;
  }

  async checkAvailable(username: string): Promise<void> {
    this.#registrationFlows();
    const localpart = this.#localpartFrom(username);
    if (await this.#storage.users.get(makeUserId(localpart, this.#config.serverName))) {
      throw new MatrixError('M_USER_IN_USE', 'That user name is taken');
    }
  }

  async register(request: RegisterRequest): Promise<RegisterResult> {
    const flows = this.#registrationFlows();
    if (request.kind === 'guest') throw new MatrixError('M_GUEST_ACCESS_FORBIDDEN', 'Guest access is disabled on this server');

    // Check what the client has already told us before asking it to authenticate, so that a taken
    // name or a weak password is reported at once rather than after the registration token is spent.
    const localpart = request.username !== undefined ? this.#localpartFrom(request.username) : undefined;
    if (localpart !== undefined && (await this.#storage.users.get(makeUserId(localpart, this.#config.serverName)))) {
      throw new MatrixError('M_USER_IN_USE', 'That user name is taken');
    }
    if (request.password !== undefined) checkPasswordPolicy(request.password, this.#config.passwordPolicy, localpart);

    const session = await this.#uia.authenticate(request.auth, { purpose: 'register', flows, clientAddress: request.clientAddress });

    if (request.password === undefined) throw new MatrixError('M_MISSING_PARAM', 'A password is required');
    const finalLocalpart = localpart ?? `user-${randomString(10, 'abcdefghijklmnopqrstuvwxyz0123456789')}`;
    const userId = makeUserId(finalLocalpart, this.#config.serverName);
    const passwordHash = await hashPassword(request.password);

    const result = await this.#audit.transaction(async (stores): Promise<RegisterResult> => {
      const token = session.state.registrationToken;
      if (typeof token === 'string' && !(await stores.registrationTokens.consume(token, this.#clock.now()))) {
        throw new MatrixError('M_FORBIDDEN', 'The registration token is no longer valid');
      }
      const created = await stores.users.create({
        userId,
        localpart: finalLocalpart,
        passwordHash,
        isAdmin: false,
        displayname: finalLocalpart,
        createdTs: this.#clock.now(),
      });
      if (!created) throw new MatrixError('M_USER_IN_USE', 'That user name is taken');
      // Under `mfa: required` a password alone never yields a session, here as at POST /login: the
      // account is made, and the person signs in through the sign-in page, enrolling a second factor.
      const secondFactorRequired = this.#config.mfa === 'required';
      const registered: RegisterResult = secondFactorRequired
        ? { userId, secondFactorRequired }
        : request.inhibitLogin
        ? { userId }
        : await this.#sessions.create(stores, userId, {
            deviceId: request.deviceId,
            displayName: request.initialDeviceDisplayName,
            refreshable: request.refreshToken === true,
          });
      await this.#audit.record(
        {
          action: 'auth.register',
          outcome: 'success',
          actor: { userId, deviceId: registered.deviceId ?? null },
          target: { userId, ...(registered.deviceId ? { deviceId: registered.deviceId } : {}) },
          details: { withToken: typeof token === 'string', sessionWithheld: secondFactorRequired },
        },
        stores,
      );
      return registered;
    });
    await this.#uia.finish(session);
    return result;
  }

  /**
   * Creates an account directly (administrator or CLI); no registration policy applies. `alsoIn`
   * writes in the same transaction (the admin call's own audit entry): both commit or neither.
   */
  async createUser(
    options: { localpart: string; password: string; admin: boolean; roles?: readonly Role[]; displayname?: string },
    alsoIn?: (stores: Stores, userId: string) => Promise<void>,
  ): Promise<string> {
    const localpart = this.#localpartFrom(options.localpart);
    checkPasswordPolicy(options.password, this.#config.passwordPolicy, localpart);
    const userId = makeUserId(localpart, this.#config.serverName);
    const roles = new Set<Role>(options.roles ?? []);
    if (options.admin) roles.add('admin');
    const passwordHash = await hashPassword(options.password);
    await this.#audit.transaction(async (stores) => {
      const created = await stores.users.create({
        userId,
        localpart,
        passwordHash,
        isAdmin: roles.has('admin'),
        displayname: options.displayname ?? localpart,
        createdTs: this.#clock.now(),
      });
      if (!created) throw new MatrixError('M_USER_IN_USE', `${userId} already exists`);
      await stores.roles.setRoles(userId, [...roles]);
      await this.#audit.record({ action: 'account.create', outcome: 'success', target: { userId }, details: { roles: [...roles].sort().join(' ') } }, stores);
      await alsoIn?.(stores, userId);
    });
    return userId;
  }

  async changePassword(principal: Principal, newPassword: string, logoutDevices: boolean, auth: unknown, clientAddress: string) {
    const user = await this.#storage.users.get(principal.userId);
    checkPasswordPolicy(newPassword, this.#config.passwordPolicy, user?.localpart);
    const session = await this.#uia.authenticate(auth, {
      purpose: 'change_password',
      userId: principal.userId,
      flows: [['m.login.password']],
      clientAddress,
    });
    const passwordHash = await hashPassword(newPassword);
    await this.#audit.transaction(async (stores) => {
      await stores.users.setPasswordHash(principal.userId, passwordHash);
      await this.#audit.record({ action: 'account.password', outcome: 'success', target: { userId: principal.userId }, details: { logoutDevices } }, stores);
    });
    if (logoutDevices) await this.#sessions.endAllDevices(principal.userId, principal.deviceId, { reason: 'password_change' });
    await this.#uia.finish(session);
  }

  async deactivate(principal: Principal, erase: boolean, auth: unknown, clientAddress: string) {
    const session = await this.#uia.authenticate(auth, {
      purpose: 'deactivate',
      userId: principal.userId,
      flows: [['m.login.password']],
      clientAddress,
    });
    // One write: the account is closed and every session is wiped (its devices are told to erase
    // their data, held /sync long-polls end, room-mates learn the devices are gone).
    await this.#writer.write(async (ctx) => {
      await ctx.stores.users.setDeactivated(principal.userId);
      if (erase) await ctx.stores.users.setProfile(principal.userId, { displayname: null, avatarUrl: null });
      await this.#sessions.endAllDevicesIn(ctx, principal.userId, { reason: 'deactivated' });
      await this.#audit.record({ action: 'account.deactivate', outcome: 'success', target: { userId: principal.userId }, details: { erase } }, ctx.stores);
    });
    await this.#uia.finish(session);
  }
}
