/** Admin API helpers for tests: users with organisation roles, and the admin API's paths. */
import type { Role } from '@caduceus/core';
import { startTestServer, type TestServer } from './server.ts';
import type { Settings } from '../../src/index.ts';
import { registerUser, type TestUser } from './users.ts';

export const ADMIN = '/_caduceus/admin/v1';

/** A registered user holding `roles` (set directly in the database, as an operator's CLI would). */
export async function userWithRoles(server: TestServer, roles: Role[], options: { localpart?: string } = {}): Promise<TestUser> {
  const user = await registerUser(server, options);
  await server.storage.roles.setRoles(user.userId, roles);
  return user;
}

/** An administrator, a security officer and a plain clinician on `server`. */
export async function staff(server: TestServer) {
  const [admin, officer, clinician] = await Promise.all([
    userWithRoles(server, ['admin']),
    userWithRoles(server, ['security_officer']),
    userWithRoles(server, ['clinician']),
  ]);
  return { admin, officer, clinician };
}

/** A fresh server with `settings`, and its administrator, security officer and clinician (see `staff`). */
export async function startStaffServer(settings: Partial<Settings> = {}) {
  const server = await startTestServer(settings);
  return { server, ...(await staff(server)) };
}

/** Audit entries of `action` (newest last), read through the admin API as `reader`. */
export async function auditEntries(reader: TestUser, action: string): Promise<Array<Record<string, any>>> {
  const res = await reader.api.get(`${ADMIN}/audit/entries?action=${encodeURIComponent(action)}&limit=1000`);
  if (res.status !== 200) throw new Error(`audit search failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.entries;
}
