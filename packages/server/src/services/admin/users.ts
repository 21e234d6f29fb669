/**
 * Accounts as an administrator manages them: list and search, look at one, create with roles,
 * change roles, deactivate, reset the password and the second factors. Each call is audited.
 */
import { MatrixError, isRole, parseUserId, type Role } from '@caduceus/core';
import type { Config } from '../../config/config.ts';
import type { Storage, Stores } from '../../storage/index.ts';
import type { AccountService } from '../accounts.ts';
import { checkPasswordPolicy, hashPassword } from '../passwords.ts';
import type { SessionService } from '../sessions.ts';
import type { StreamWriter } from '../stream-writer.ts';
import type { AdminAuditor, AdminCaller } from './access.ts';
import { decodeFrom, page } from './paging.ts';

export interface AdminUserView {
  user_id: string;
  displayname: string | null;
  deactivated: boolean;
  roles: string[];
  created_ts: number;
}

/** What the admin API needs of the second-factor store (the MFA service provides it). */
export interface SecondFactors {
  /** Removes every factor of the user; how many were removed. `alsoIn` writes in the same transaction. */
  removeAll(userId: string, alsoIn?: (stores: Stores, removed: number) => Promise<void>): Promise<number>;
  /** Active users without any second factor. */
  usersWithout(): Promise<string[]>;
}

export class AdminUserService {
  readonly #config: Config;
  readonly #storage: Storage;
  readonly #writer: StreamWriter;
  readonly #accounts: AccountService;
  readonly #sessions: SessionService;
  readonly #auditor: AdminAuditor;
  readonly #factors: SecondFactors | undefined;

  constructor(deps: {
    config: Config;
    storage: Storage;
    writer: StreamWriter;
    accounts: AccountService;
    sessions: SessionService;
    auditor: AdminAuditor;
    factors?: SecondFactors | undefined;
  }) {
    this.#config = deps.config;
    this.#storage = deps.storage;
    this.#writer = deps.writer;
    this.#accounts = deps.accounts;
    this.#sessions = deps.sessions;
    this.#auditor = deps.auditor;
    this.#factors = deps.factors;
  }

  async list(caller: AdminCaller, options: { search?: string | undefined; from?: string | undefined; limit: number }) {
    return this.#auditor.run(caller, 'users', 'list', {}, async (record) => {
      const rows = await this.#storage.adminViews.listUsers({ search: options.search, after: decodeFrom(options.from), limit: options.limit + 1 });
      const { items, next } = page(rows, options.limit, (r) => r.userId);
      const roles = await this.#storage.adminViews.rolesOf(items.map((r) => r.userId));
      await record({ count: items.length, searched: options.search !== undefined });
      return {
        users: items.map((r): AdminUserView => ({ user_id: r.userId, displayname: r.displayname, deactivated: r.deactivated, roles: roles.get(r.userId) ?? [], created_ts: r.createdTs })),
        ...(next ? { next_from: next } : {}),
      };
    });
  }

  async get(caller: AdminCaller, userId: string) {
    return this.#auditor.run(caller, 'users', 'get', { userId }, async () => {
      const user = await this.#existing(userId);
      const devices = await this.#storage.sessions.listDevices(userId);
      return {
        user_id: user.userId,
        displayname: user.displayname,
        deactivated: user.deactivated,
        roles: await this.#storage.roles.rolesOf(userId),
        created_ts: user.createdTs,
        devices: devices.length,
      };
    });
  }

  async create(caller: AdminCaller, request: { localpart: string; password: string; roles: string[]; displayname?: string | undefined }) {
    const roles = checkRoles(request.roles);
    return this.#auditor.run(caller, 'users', 'create', { localpart: request.localpart.toLowerCase() }, async (record) => {
      const userId = await this.#accounts.createUser(
        {
          localpart: request.localpart,
          password: request.password,
          admin: roles.includes('admin'),
          roles,
          ...(request.displayname !== undefined ? { displayname: request.displayname } : {}),
        },
        (stores, created) => record({ userId: created, roles: roles.join(',') }, stores),
      );
      return { user_id: userId, roles };
    });
  }

  async setRoles(caller: AdminCaller, userId: string, requested: string[]) {
    const roles = checkRoles(requested);
    return this.#auditor.run(caller, 'users', 'roles', { userId }, async (record) => {
      await this.#auditor.transaction(async (stores) => {
        const user = await stores.users.get(userId);
        if (!user) throw new MatrixError('M_NOT_FOUND', 'No such user');
        const before = await stores.roles.rolesOf(userId);
        // The organisation must keep someone who can administer it.
        if (before.includes('admin') && !roles.includes('admin') && (await stores.users.countAdmins()) <= 1) {
          throw new MatrixError('M_FORBIDDEN', 'This is the last administrator; make someone else an administrator first');
        }
        await stores.roles.setRoles(userId, roles);
        await record({ before: before.join(','), after: roles.join(',') }, stores);
      });
      return { user_id: userId, roles };
    });
  }

  /** Closes the account: it can no longer sign in, every session ends, room-mates learn its devices are gone. */
  async deactivate(caller: AdminCaller, userId: string) {
    return this.#auditor.run(caller, 'users', 'deactivate', { userId }, async (record) => {
      const user = await this.#existing(userId);
      if (user.deactivated) throw new MatrixError('M_BAD_STATE', 'That account is already deactivated');
      if (userId === caller.userId) throw new MatrixError('M_FORBIDDEN', 'Administrators cannot deactivate their own account here');
      await this.#writer.write(async (ctx) => {
        await ctx.stores.users.setDeactivated(userId);
        await ctx.stores.roles.setRoles(userId, []);
        await this.#sessions.endAllDevicesIn(ctx, userId, { reason: 'deactivated', actor: this.#auditor.actor(caller) });
        await record({}, ctx.stores);
      });
      return { user_id: userId, deactivated: true };
    });
  }

  /** Sets a new password (the password policy applies); by default every session of the user ends. */
  async resetPassword(caller: AdminCaller, userId: string, newPassword: string, logoutDevices: boolean) {
    return this.#auditor.run(caller, 'users', 'reset_password', { userId }, async (record) => {
      const user = await this.#existing(userId);
      if (user.deactivated) throw new MatrixError('M_USER_DEACTIVATED', 'That account is deactivated');
      checkPasswordPolicy(newPassword, this.#config.passwordPolicy, user.localpart);
      const passwordHash = await hashPassword(newPassword);
      await this.#writer.write(async (ctx) => {
        await ctx.stores.users.setPasswordHash(userId, passwordHash);
        if (logoutDevices) await this.#sessions.endAllDevicesIn(ctx, userId, { reason: 'password_change', actor: this.#auditor.actor(caller) });
        await record({ logoutDevices }, ctx.stores);
      });
      return {};
    });
  }

  /** Removes every second factor of the user, who enrols again at the next sign-in. */
  async resetMfa(caller: AdminCaller, userId: string) {
    return this.#auditor.run(caller, 'users', 'reset_mfa', { userId }, async (record) => {
      await this.#existing(userId);
      if (!this.#factors) throw new MatrixError('M_UNRECOGNIZED', 'Second factors are not available on this server', { status: 404 });
      const removed = await this.#factors.removeAll(userId, (stores, count) => record({ removed: count }, stores));
      return { removed };
    });
  }

  async #existing(userId: string) {
    if (!parseUserId(userId)) throw new MatrixError('M_INVALID_PARAM', 'Not a valid user id');
    const user = await this.#storage.users.get(userId);
    if (!user) throw new MatrixError('M_NOT_FOUND', 'No such user');
    return user;
  }
}

function checkRoles(requested: string[]): Role[] {
  const unknown = requested.filter((r) => !isRole(r));
  if (unknown.length > 0) throw new MatrixError('M_INVALID_PARAM', `Unknown role: ${unknown.join(', ')}`);
  return [...new Set(requested as Role[])];
}
