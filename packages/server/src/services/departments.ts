/**
 * Departments ("Cardiology") and their functional accounts: the operations the admin API and the
 * CLI call. A functional account is an ordinary local account that stands for the department; staff
 * and clinicians find it in the user directory under the department's name, and patients may invite
 * it without sharing a room with it first. Callers audit these administrative changes: each change
 * takes `alsoIn`, which writes the caller's audit entry in the change's own transaction.
 */
import { MatrixError } from '@caduceus/core';
import type { Config } from '../config/config.ts';
import type { AuditTrail } from '../compliance/audit/index.ts';
import type { DepartmentRecord, Storage, Stores } from '../storage/index.ts';
import type { Clock } from './clock.ts';
import type { ServiceDeps } from './index.ts';

/** Department ids name departments in URLs and commands: short, lower-case, no spaces. */
const DEPARTMENT_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const MAX_NAME = 100;
const MAX_DESCRIPTION = 1000;

export interface Department extends DepartmentRecord {
  members: string[];
}

/** Writes more in a change's transaction (the caller's audit entry): both commit or neither. */
export type AlsoIn = (stores: Stores) => Promise<void>;

export class DepartmentService {
  readonly #config: Config;
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #audit: AuditTrail;

  constructor(deps: ServiceDeps) {
    this.#config = deps.config;
    this.#storage = deps.storage;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  /** A change and the caller's `alsoIn`, in one transaction opened as the audit trail requires. */
  #change<T>(alsoIn: AlsoIn | undefined, work: (stores: Stores) => Promise<T>): Promise<T> {
    return this.#audit.transaction(async (stores) => {
      const result = await work(stores);
      await alsoIn?.(stores);
      return result;
    });
  }

  async create(options: { departmentId: string; name: string; description?: string | null; functionalUserId?: string | null }, alsoIn?: AlsoIn): Promise<Department> {
    if (!DEPARTMENT_ID.test(options.departmentId)) {
      throw new MatrixError('M_INVALID_PARAM', 'A department id is 1-64 characters of a-z, 0-9, ".", "_" and "-", starting with a letter or digit');
    }
    const name = this.#checkName(options.name);
    const description = this.#checkDescription(options.description ?? null);
    const functionalUserId = options.functionalUserId ?? null;
    if (functionalUserId !== null) await this.#checkFunctionalAccount(functionalUserId, options.departmentId);
    await this.#change(alsoIn, async (stores) => {
      const created = await stores.departments.create({ departmentId: options.departmentId, name, description, functionalUserId, createdTs: this.#clock.now() });
      if (!created) throw new MatrixError('M_UNKNOWN', `A department with the id ${options.departmentId} exists already`, { status: 409 });
    });
    return this.get(options.departmentId);
  }

  async update(departmentId: string, changes: { name?: string; description?: string | null }, alsoIn?: AlsoIn): Promise<Department> {
    await this.#existing(departmentId);
    const checked = {
      ...(changes.name !== undefined ? { name: this.#checkName(changes.name) } : {}),
      ...(changes.description !== undefined ? { description: this.#checkDescription(changes.description) } : {}),
    };
    await this.#change(alsoIn, (stores) => stores.departments.update(departmentId, checked));
    return this.get(departmentId);
  }

  /** Makes `userId` (or nobody, with null) the account that stands for the department. */
  async setFunctionalAccount(departmentId: string, userId: string | null, alsoIn?: AlsoIn): Promise<Department> {
    await this.#existing(departmentId);
    if (userId !== null) await this.#checkFunctionalAccount(userId, departmentId);
    await this.#change(alsoIn, (stores) => stores.departments.update(departmentId, { functionalUserId: userId }));
    return this.get(departmentId);
  }

  async delete(departmentId: string, alsoIn?: AlsoIn): Promise<void> {
    await this.#existing(departmentId);
    await this.#change(alsoIn, (stores) => stores.departments.delete(departmentId));
  }

  /** Returns false when the user was a member already. */
  async addMember(departmentId: string, userId: string, alsoIn?: AlsoIn): Promise<boolean> {
    await this.#existing(departmentId);
    await this.#activeLocalUser(userId);
    return this.#change(alsoIn, (stores) => stores.departments.addMember(departmentId, userId));
  }

  /** Returns false when the user was not a member. */
  async removeMember(departmentId: string, userId: string, alsoIn?: AlsoIn): Promise<boolean> {
    await this.#existing(departmentId);
    return this.#change(alsoIn, (stores) => stores.departments.removeMember(departmentId, userId));
  }

  async get(departmentId: string): Promise<Department> {
    const department = await this.#existing(departmentId);
    return { ...department, members: await this.#storage.departments.members(departmentId) };
  }

  /** Departments whose id or name contains `search` (case-insensitive), by name; all without it. */
  async list(search?: string): Promise<DepartmentRecord[]> {
    const term = (search ?? '').normalize('NFKC').toLowerCase().trim();
    const all = await this.#storage.departments.list();
    return term === '' ? all : all.filter((d) => d.departmentId.includes(term) || d.name.normalize('NFKC').toLowerCase().includes(term));
  }

  /** The departments a user belongs to. */
  async departmentsOf(userId: string): Promise<DepartmentRecord[]> {
    return this.#storage.departments.departmentsOf(userId);
  }

  async #existing(departmentId: string): Promise<DepartmentRecord> {
    const found = await this.#storage.departments.get(departmentId);
    if (!found) throw new MatrixError('M_NOT_FOUND', 'No such department');
    return found;
  }

  #checkName(name: string): string {
    const trimmed = name.trim();
    if (trimmed === '' || trimmed.length > MAX_NAME) throw new MatrixError('M_INVALID_PARAM', `A department name is 1-${MAX_NAME} characters`);
    return trimmed;
  }

  #checkDescription(description: string | null): string | null {
    if (description !== null && description.length > MAX_DESCRIPTION) throw new MatrixError('M_INVALID_PARAM', `A description is at most ${MAX_DESCRIPTION} characters`);
    return description;
  }

  async #checkFunctionalAccount(userId: string, departmentId: string) {
    await this.#activeLocalUser(userId);
    const other = await this.#storage.departments.byFunctionalAccount(userId);
    if (other && other.departmentId !== departmentId) {
      throw new MatrixError('M_INVALID_PARAM', `${userId} already stands for the department ${other.departmentId}`);
    }
  }

  async #activeLocalUser(userId: string) {
    if (!userId.endsWith(`:${this.#config.serverName}`)) throw new MatrixError('M_INVALID_PARAM', 'Only accounts of this server can belong to a department');
    const user = await this.#storage.users.get(userId);
    if (!user || user.deactivated) throw new MatrixError('M_NOT_FOUND', 'No such user');
  }
}
