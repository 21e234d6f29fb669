/** Which organisation roles each user holds. */
import type { Kysely } from 'kysely';
import { isRole, type Role } from '@caduceus/core';
import type { Database } from './schema.ts';

export interface RoleStore {
  rolesOf(userId: string): Promise<Role[]>;
  /** The roles of each of `userIds` (users holding none are absent from the map). */
  rolesOfMany(userIds: readonly string[]): Promise<Map<string, Role[]>>;
  /** Replaces every role the user holds. */
  setRoles(userId: string, roles: readonly Role[]): Promise<void>;
  /** Active (not deactivated) users holding `role`. */
  usersWithRole(role: Role): Promise<string[]>;
}

export class KyselyRoleStore implements RoleStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async rolesOf(userId: string) {
    const rows = await this.#db.selectFrom('user_roles').select('role').where('user_id', '=', userId).orderBy('role').execute();
    return rows.map((r) => r.role).filter(isRole);
  }

  async rolesOfMany(userIds: readonly string[]) {
    const roles = new Map<string, Role[]>();
    // In slices: both engines bound the number of parameters in one statement.
    for (let i = 0; i < userIds.length; i += 500) {
      const slice = userIds.slice(i, i + 500);
      const rows = await this.#db.selectFrom('user_roles').select(['user_id', 'role']).where('user_id', 'in', slice).orderBy('role').execute();
      for (const row of rows) if (isRole(row.role)) roles.set(row.user_id, [...(roles.get(row.user_id) ?? []), row.role]);
    }
    return roles;
  }

  async setRoles(userId: string, roles: readonly Role[]) {
    await this.#db.deleteFrom('user_roles').where('user_id', '=', userId).execute();
    const unique = [...new Set(roles)];
    if (unique.length > 0) await this.#db.insertInto('user_roles').values(unique.map((role) => ({ user_id: userId, role }))).execute();
    // The admin flag mirrors the role, for code that reads the account alone.
    await this.#db.updateTable('users').set({ is_admin: unique.includes('admin') ? 1 : 0 }).where('user_id', '=', userId).execute();
  }

  async usersWithRole(role: Role) {
    const rows = await this.#db
      .selectFrom('user_roles')
      .innerJoin('users', 'users.user_id', 'user_roles.user_id')
      .select('user_roles.user_id')
      .where('user_roles.role', '=', role)
      .where('users.deactivated', '=', 0)
      .orderBy('user_roles.user_id')
      .execute();
    return rows.map((r) => r.user_id);
  }
}
