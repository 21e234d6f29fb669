/** Admin API: departments and their functional accounts (administrators only). */
import { Type } from 'typebox';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { adminCaller } from './gate.ts';

const tags = ['departments'];
const area = 'departments' as const;

const DepartmentParam = Type.Object({ departmentId: Type.String({ minLength: 1, maxLength: 64, description: 'A department id, e.g. cardiology' }) });
const MemberParams = Type.Object({
  departmentId: Type.String({ minLength: 1, maxLength: 64 }),
  userId: Type.String({ minLength: 3, maxLength: 255, pattern: '^@', description: 'A user id of this server' }),
});
const Name = Type.String({ minLength: 1, maxLength: 100, description: 'The name staff search for, e.g. Cardiology' });
const Description = Type.Union([Type.String({ maxLength: 1000 }), Type.Null()]);
const FunctionalUserId = Type.Union([Type.String({ minLength: 3, maxLength: 255, pattern: '^@' }), Type.Null()], {
  description: 'The account that stands for the department in the user directory (null: none)',
});

export function adminDepartmentRoutes(app: App, { admin }: Services) {
  /** GET /_caduceus/admin/v1/departments */
  app.get(
    '/departments',
    {
      config: { admin: { area, verb: 'list' } },
      schema: { tags, summary: 'List departments by name, optionally searching ids and names', querystring: Type.Object({ search: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }) },
    },
    async (request) => admin.departments.list(adminCaller(request), request.query.search),
  );

  /** POST /_caduceus/admin/v1/departments */
  app.post(
    '/departments',
    {
      config: { admin: { area, verb: 'create' } },
      schema: {
        tags,
        summary: 'Create a department (409 when the id is taken)',
        body: Type.Object(
          {
            department_id: Type.String({ minLength: 1, maxLength: 64, description: 'a-z, 0-9, ".", "_" and "-"' }),
            name: Name,
            description: Type.Optional(Description),
            functional_user_id: Type.Optional(FunctionalUserId),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const { department_id, name, description, functional_user_id } = request.body;
      return admin.departments.create(adminCaller(request), { departmentId: department_id, name, description, functionalUserId: functional_user_id });
    },
  );

  /** GET /_caduceus/admin/v1/departments/{departmentId} */
  app.get(
    '/departments/:departmentId',
    { config: { admin: { area, verb: 'get' } }, schema: { tags, summary: 'One department with its members', params: DepartmentParam } },
    async (request) => admin.departments.get(adminCaller(request), request.params.departmentId),
  );

  /** PUT /_caduceus/admin/v1/departments/{departmentId} */
  app.put(
    '/departments/:departmentId',
    {
      config: { admin: { area, verb: 'update' } },
      schema: {
        tags,
        summary: 'Rename a department or change its description',
        params: DepartmentParam,
        body: Type.Object({ name: Type.Optional(Name), description: Type.Optional(Description) }, { additionalProperties: false, minProperties: 1 }),
      },
    },
    async (request) => admin.departments.update(adminCaller(request), request.params.departmentId, request.body),
  );

  /** DELETE /_caduceus/admin/v1/departments/{departmentId} */
  app.delete(
    '/departments/:departmentId',
    { config: { admin: { area, verb: 'delete' } }, schema: { tags, summary: 'Delete a department (its accounts stay)', params: DepartmentParam } },
    async (request) => admin.departments.delete(adminCaller(request), request.params.departmentId),
  );

  /** PUT /_caduceus/admin/v1/departments/{departmentId}/functional-account */
  app.put(
    '/departments/:departmentId/functional-account',
    {
      config: { admin: { area, verb: 'functional_account' } },
      schema: {
        tags,
        summary: 'Name the account that stands for the department, or none',
        params: DepartmentParam,
        body: Type.Object({ user_id: FunctionalUserId }, { additionalProperties: false }),
      },
    },
    async (request) => admin.departments.setFunctionalAccount(adminCaller(request), request.params.departmentId, request.body.user_id),
  );

  /** PUT /_caduceus/admin/v1/departments/{departmentId}/members/{userId} */
  app.put(
    '/departments/:departmentId/members/:userId',
    { config: { admin: { area, verb: 'add_member' } }, schema: { tags, summary: 'Add a member ("added": false when already one)', params: MemberParams } },
    async (request) => admin.departments.addMember(adminCaller(request), request.params.departmentId, request.params.userId),
  );

  /** DELETE /_caduceus/admin/v1/departments/{departmentId}/members/{userId} */
  app.delete(
    '/departments/:departmentId/members/:userId',
    { config: { admin: { area, verb: 'remove_member' } }, schema: { tags, summary: 'Remove a member ("removed": false when not one)', params: MemberParams } },
    async (request) => admin.departments.removeMember(adminCaller(request), request.params.departmentId, request.params.userId),
  );
}
