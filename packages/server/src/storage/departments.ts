/** Departments, their members and the functional account that stands for each. */
import type { Kysely } from 'kysely';
import type { Database, DepartmentsTable } from './schema.ts';

export interface DepartmentRecord {
  departmentId: string;
  name: string;
  description: string | null;
  functionalUserId: string | null;
  createdTs: number;
}

export interface FunctionalAccount {
  userId: string;
  localpart: string;
  avatarUrl: string | null;
  departmentName: string;
}

export interface NewDepartment {
  departmentId: string;
  name: string;
  description: string | null;
  functionalUserId: string | null;
  createdTs: number;
}

export interface DepartmentStore {
  get(departmentId: string): Promise<DepartmentRecord | undefined>;
  /** Returns false when the id is taken. */
  create(department: NewDepartment): Promise<boolean>;
  update(departmentId: string, changes: { name?: string; description?: string | null; functionalUserId?: string | null }): Promise<void>;
  delete(departmentId: string): Promise<void>;
  /** Every department, by name. */
  list(): Promise<DepartmentRecord[]>;
  /** The department a functional account stands for, if it is one. */
  byFunctionalAccount(userId: string): Promise<DepartmentRecord | undefined>;
  /** The active (not deactivated) functional accounts, with their department's name, by name. */
  functionalAccounts(): Promise<FunctionalAccount[]>;
  /** Returns false when the user was already a member. */
  addMember(departmentId: string, userId: string): Promise<boolean>;
  /** Returns false when the user was not a member. */
  removeMember(departmentId: string, userId: string): Promise<boolean>;
  members(departmentId: string): Promise<string[]>;
  departmentsOf(userId: string): Promise<DepartmentRecord[]>;
}

const toRecord = (row: DepartmentsTable): DepartmentRecord => ({
  departmentId: row.department_id,
  name: row.name,
  description: row.description,
  functionalUserId: row.functional_user_id,
  createdTs: row.created_ts,
});

export class KyselyDepartmentStore implements DepartmentStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async get(departmentId: string) {
    const row = await this.#db.selectFrom('departments').selectAll().where('department_id', '=', departmentId).executeTakeFirst();
    return row && toRecord(row);
  }

  async create(department: NewDepartment) {
    const result = await this.#db
      .insertInto('departments')
      .values({
        department_id: department.departmentId,
        name: department.name,
        description: department.description,
        functional_user_id: department.functionalUserId,
        created_ts: department.createdTs,
      })
      .onConflict((oc) => oc.column('department_id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async update(departmentId: string, changes: { name?: string; description?: string | null; functionalUserId?: string | null }) {
    const set: Partial<DepartmentsTable> = {};
    if (changes.name !== undefined) set.name = changes.name;
    if (changes.description !== undefined) set.description = changes.description;
    if (changes.functionalUserId !== undefined) set.functional_user_id = changes.functionalUserId;
    if (Object.keys(set).length === 0) return;
    await this.#db.updateTable('departments').set(set).where('department_id', '=', departmentId).execute();
  }

  async delete(departmentId: string) {
    // Members first: SQLite enforces the cascade only with foreign keys switched on.
    await this.#db.deleteFrom('department_members').where('department_id', '=', departmentId).execute();
    await this.#db.deleteFrom('departments').where('department_id', '=', departmentId).execute();
  }

  async list() {
    return (await this.#db.selectFrom('departments').selectAll().orderBy('name').orderBy('department_id').execute()).map(toRecord);
  }

  async byFunctionalAccount(userId: string) {
    const row = await this.#db.selectFrom('departments').selectAll().where('functional_user_id', '=', userId).executeTakeFirst();
    return row && toRecord(row);
  }

  async functionalAccounts() {
    const rows = await this.#db
      .selectFrom('departments as d')
      .innerJoin('users as u', 'u.user_id', 'd.functional_user_id')
      .select(['u.user_id', 'u.localpart', 'u.avatar_url', 'd.name'])
      .where('u.deactivated', '=', 0)
      .orderBy('d.name')
      .orderBy('d.department_id')
      .execute();
    return rows.map((r) => ({ userId: r.user_id, localpart: r.localpart, avatarUrl: r.avatar_url, departmentName: r.name }));
  }

  async addMember(departmentId: string, userId: string) {
    const result = await this.#db
      .insertInto('department_members')
      .values({ department_id: departmentId, user_id: userId })
      .onConflict((oc) => oc.columns(['department_id', 'user_id']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async removeMember(departmentId: string, userId: string) {
    const result = await this.#db.deleteFrom('department_members').where('department_id', '=', departmentId).where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async members(departmentId: string) {
    const rows = await this.#db.selectFrom('department_members').select('user_id').where('department_id', '=', departmentId).orderBy('user_id').execute();
    return rows.map((r) => r.user_id);
  }

  async departmentsOf(userId: string) {
    const rows = await this.#db
      .selectFrom('departments as d')
      .innerJoin('department_members as m', 'm.department_id', 'd.department_id')
      .selectAll('d')
      .where('m.user_id', '=', userId)
      .orderBy('d.name')
      .execute();
    return rows.map(toRecord);
  }
}
