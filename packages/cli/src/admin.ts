/**
 * What the commands ask of the homeserver, behind one small interface. Today it loads the server's
 * configuration and opens its database directly (so it works whether or not the server runs); later
 * an implementation that calls the admin API takes its place and the commands stay as they are.
 */
import { existsSync } from 'node:fs';
import type { Role } from '@caduceus/core';
import type { Config, OpenedServer } from '@caduceus/server';
import { CliError } from './args.ts';

export interface CreatedUser {
  userId: string;
  admin: boolean;
  displayname: string | null;
  roles: Role[];
}

export interface CreatedToken {
  token: string;
  /** null: unlimited. */
  usesAllowed: number | null;
  /** null: never expires. */
  expiryTs: number | null;
}

export interface Admin {
  readonly serverName: string;
  readonly registration: Config['registration'];
  createUser(options: { localpart: string; password: string; admin: boolean; roles?: readonly Role[]; displayname?: string }): Promise<CreatedUser>;
  /** The user's roles; with `roles`, replaces them first. */
  userRoles(userId: string, roles?: readonly Role[]): Promise<Role[]>;
  createRegistrationToken(options: { token?: string; usesAllowed?: number; expiryTs?: number }): Promise<CreatedToken>;
  close(): Promise<void>;
}

/**
 * Validates the configuration now (a ConfigError surfaces before any prompt) and opens the database
 * on first use. The server package is loaded here, not at start-up, so `caduceus help` stays quick.
 * `notice` receives remarks for the operator (stderr).
 */
export async function connectAdmin(env: NodeJS.ProcessEnv, notice: (text: string) => void): Promise<Admin> {
  const server = await import('@caduceus/server');
  const config = server.loadConfig(env);
  let opened: Promise<OpenedServer> | undefined;
  const open = () => {
    if (!opened && config.database.kind === 'sqlite' && !existsSync(config.database.path)) {
      // data_dir defaults to ./data, so a command run from another folder would quietly make a second database.
      notice(`note: there was no database at ${config.database.path}, so a new one was made there; the server must run with the same data_dir (CADUCEUS_DATA_DIR) to see this change`);
    }
    return (opened ??= server.openServer(config).catch((err: unknown) => {
      throw new CliError(`cannot open the ${config.database.kind === 'sqlite' ? `SQLite database at ${config.database.path}` : 'PostgreSQL database'}: ${describeError(err)}`);
    }));
  };

  return {
    serverName: config.serverName,
    registration: config.registration,
    async createUser(options) {
      const { services, storage } = await open();
      const userId = await services.accounts.createUser(options);
      const user = await storage.users.get(userId);
      return { userId, admin: user?.isAdmin ?? options.admin, displayname: user?.displayname ?? null, roles: await storage.roles.rolesOf(userId) };
    },
    async userRoles(userId, roles) {
      const { services, storage } = await open();
      const user = await storage.users.get(userId);
      if (!user || user.deactivated) throw new CliError(`${userId} does not exist or is deactivated`);
      if (roles === undefined) return storage.roles.rolesOf(userId);
      // An administrative change like any other: on the audit trail, committed together with it.
      await services.audit.transaction(async (stores) => {
        const before = await stores.roles.rolesOf(userId);
        await stores.roles.setRoles(userId, roles);
        await services.audit.record(
          {
            action: 'admin.users.roles',
            outcome: 'success',
            actor: { userId: null, address: 'cli', userAgent: 'caduceus user roles' },
            target: { userId },
            details: { before: before.join(','), after: [...new Set(roles)].sort().join(',') },
          },
          stores,
        );
      });
      return storage.roles.rolesOf(userId);
    },
    async createRegistrationToken(options) {
      const { services } = await open();
      const record = await services.registrationTokens.create({ ...options, createdBy: null });
      return { token: record.token, usesAllowed: record.usesAllowed, expiryTs: record.expiryTs };
    },
    async close() {
      if (!opened) return;
      const pending = opened;
      opened = undefined;
      await pending.then((o) => o.close(), () => {});
    },
  };
}

/** A readable reason, also for errors whose message is empty (e.g. an AggregateError from connect). */
export function describeError(err: unknown): string {
  if (err instanceof AggregateError && !err.message) return err.errors.map(describeError).join('; ');
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
