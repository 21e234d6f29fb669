/** Admin API: accounts. */
import { Type } from 'typebox';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { adminCaller } from './gate.ts';
import { From, Limit, RoleList, UserIdParam } from './fields.ts';

const tags = ['users'];
const area = 'users' as const;

export function adminUserRoutes(app: App, { admin }: Services) {
  /** GET /_caduceus/admin/v1/users */
  app.get(
    '/users',
    {
      config: { admin: { area, verb: 'list' } },
      schema: {
        tags,
        summary: 'List users, page by page, optionally searching ids and display names',
        querystring: Type.Object({ search: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), from: Type.Optional(From), limit: Type.Optional(Limit) }),
      },
    },
    async (request) => admin.users.list(adminCaller(request), { search: request.query.search, from: request.query.from, limit: request.query.limit ?? 100 }),
  );

  /** POST /_caduceus/admin/v1/users */
  app.post(
    '/users',
    {
      config: { admin: { area, verb: 'create' } },
      schema: {
        tags,
        summary: 'Create an account with roles',
        body: Type.Object(
          {
            localpart: Type.String({ minLength: 1, maxLength: 255 }),
            password: Type.String({ minLength: 1, maxLength: 1024 }),
            roles: Type.Optional(RoleList),
            displayname: Type.Optional(Type.String({ maxLength: 256 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const { localpart, password, roles, displayname } = request.body;
      return admin.users.create(adminCaller(request), { localpart, password, roles: roles ?? [], displayname });
    },
  );

  /** GET /_caduceus/admin/v1/users/{userId} */
  app.get(
    '/users/:userId',
    { config: { admin: { area, verb: 'get' } }, schema: { tags, summary: 'One account: roles, state, device count', params: UserIdParam } },
    async (request) => admin.users.get(adminCaller(request), request.params.userId),
  );

  /** PUT /_caduceus/admin/v1/users/{userId}/roles */
  app.put(
    '/users/:userId/roles',
    {
      config: { admin: { area, verb: 'roles' } },
      schema: { tags, summary: "Replace the user's roles", params: UserIdParam, body: Type.Object({ roles: RoleList }, { additionalProperties: false }) },
    },
    async (request) => admin.users.setRoles(adminCaller(request), request.params.userId, request.body.roles),
  );

  /** POST /_caduceus/admin/v1/users/{userId}/deactivate */
  app.post(
    '/users/:userId/deactivate',
    { config: { admin: { area, verb: 'deactivate' } }, schema: { tags, summary: 'Close the account and end all its sessions', params: UserIdParam } },
    async (request) => admin.users.deactivate(adminCaller(request), request.params.userId),
  );

  /** POST /_caduceus/admin/v1/users/{userId}/reset-password */
  app.post(
    '/users/:userId/reset-password',
    {
      config: { admin: { area, verb: 'reset_password' } },
      schema: {
        tags,
        summary: 'Set a new password (the password policy applies); ends every session unless logout_devices is false',
        params: UserIdParam,
        body: Type.Object({ new_password: Type.String({ minLength: 1, maxLength: 1024 }), logout_devices: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      },
    },
    async (request) => admin.users.resetPassword(adminCaller(request), request.params.userId, request.body.new_password, request.body.logout_devices ?? true),
  );

  /** POST /_caduceus/admin/v1/users/{userId}/reset-mfa */
  app.post(
    '/users/:userId/reset-mfa',
    { config: { admin: { area, verb: 'reset_mfa' } }, schema: { tags, summary: 'Remove every second factor; the user enrols again at the next sign-in', params: UserIdParam } },
    async (request) => admin.users.resetMfa(adminCaller(request), request.params.userId),
  );
}
