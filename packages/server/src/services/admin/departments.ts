/**
 * Departments as an administrator manages them (over services/departments.ts): list and search,
 * look at one, create, rename, delete, name the functional account, add and remove members. Each
 * change writes its audit entry (`admin.departments.<verb>`) in the change's own transaction.
 */
import type { DepartmentRecord } from '../../storage/index.ts';
import type { Department, DepartmentService } from '../departments.ts';
import type { AdminAuditor, AdminCaller } from './access.ts';

const view = (d: DepartmentRecord) => ({
  department_id: d.departmentId,
  name: d.name,
  description: d.description,
  functional_user_id: d.functionalUserId,
  created_ts: d.createdTs,
});

const fullView = (d: Department) => ({ ...view(d), members: d.members });

export class AdminDepartmentService {
  readonly #departments: DepartmentService;
  readonly #auditor: AdminAuditor;

  constructor(departments: DepartmentService, auditor: AdminAuditor) {
    this.#departments = departments;
    this.#auditor = auditor;
  }

  async list(caller: AdminCaller, search: string | undefined) {
    return this.#auditor.run(caller, 'departments', 'list', {}, async (record) => {
      const found = await this.#departments.list(search);
      await record({ count: found.length, searched: search !== undefined });
      return { departments: found.map(view) };
    });
  }

  async get(caller: AdminCaller, departmentId: string) {
    return this.#auditor.run(caller, 'departments', 'get', { departmentId }, async () => fullView(await this.#departments.get(departmentId)));
  }

  async create(caller: AdminCaller, request: { departmentId: string; name: string; description?: string | null | undefined; functionalUserId?: string | null | undefined }) {
    const target = { departmentId: request.departmentId, ...(request.functionalUserId ? { userId: request.functionalUserId } : {}) };
    return this.#auditor.run(caller, 'departments', 'create', target, async (record) => {
      const created = await this.#departments.create(
        { departmentId: request.departmentId, name: request.name, description: request.description ?? null, functionalUserId: request.functionalUserId ?? null },
        (stores) => record({}, stores),
      );
      return fullView(created);
    });
  }

  async update(caller: AdminCaller, departmentId: string, changes: { name?: string | undefined; description?: string | null | undefined }) {
    return this.#auditor.run(caller, 'departments', 'update', { departmentId }, async (record) => {
      const updated = await this.#departments.update(
        departmentId,
        { ...(changes.name !== undefined ? { name: changes.name } : {}), ...(changes.description !== undefined ? { description: changes.description } : {}) },
        // Which fields changed, not their text.
        (stores) => record({ fields: Object.keys(changes).filter((k) => changes[k as keyof typeof changes] !== undefined).sort().join(' ') }, stores),
      );
      return fullView(updated);
    });
  }

  async delete(caller: AdminCaller, departmentId: string) {
    return this.#auditor.run(caller, 'departments', 'delete', { departmentId }, async (record) => {
      await this.#departments.delete(departmentId, (stores) => record({}, stores));
      return {};
    });
  }

  /** Names the account that stands for the department, or (null) none. */
  async setFunctionalAccount(caller: AdminCaller, departmentId: string, userId: string | null) {
    const target = { departmentId, ...(userId !== null ? { userId } : {}) };
    return this.#auditor.run(caller, 'departments', 'functional_account', target, async (record) => {
      const updated = await this.#departments.setFunctionalAccount(departmentId, userId, (stores) => record({ cleared: userId === null }, stores));
      return fullView(updated);
    });
  }

  async addMember(caller: AdminCaller, departmentId: string, userId: string) {
    return this.#auditor.run(caller, 'departments', 'add_member', { departmentId, userId }, async (record) => {
      const added = await this.#departments.addMember(departmentId, userId, (stores) => record({}, stores));
      return { added };
    });
  }

  async removeMember(caller: AdminCaller, departmentId: string, userId: string) {
    return this.#auditor.run(caller, 'departments', 'remove_member', { departmentId, userId }, async (record) => {
      const removed = await this.#departments.removeMember(departmentId, userId, (stores) => record({}, stores));
      return { removed };
    });
  }
}
