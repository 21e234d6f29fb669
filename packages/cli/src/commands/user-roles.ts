/** caduceus user roles: shows or sets a user's organisation roles, directly in the database. */
import { ROLES, isRole, type Role } from '@caduceus/core';
import { UsageError, parseCommandArgs, printResult, type Command } from '../args.ts';
import { connectAdmin } from '../admin.ts';

/** Role names from the command line, refused by name when unknown. */
export function parseRoles(names: readonly string[]): Role[] {
  const roles: Role[] = [];
  for (const name of names) {
    if (!isRole(name)) throw new UsageError(`unknown role "${name}" (roles: ${ROLES.join(', ')})`);
    if (!roles.includes(name)) roles.push(name);
  }
  return roles;
}

export const userRoles: Command = {
  name: ['user', 'roles'],
  summary: "Show or set a user's organisation roles",
  usage: 'user roles <user> [ROLE...] [--clear]',
  help: `Without roles, prints the user's roles. With roles, replaces all the user's roles with them;
--clear removes every role (the user then counts as staff, or as CADUCEUS_UNASSIGNED_ROLE says).
Works on the configured database whether or not the server runs, and is recorded on the audit trail.

<user> is a localpart or a full user id. Roles: ${ROLES.join(', ')}.
  patient            invited only by staff and clinicians; never reaches other patients
  clinician, staff   the care team; may invite patients
  service            bots, integrations and departments' functional accounts
  security_officer   reads the audit trail and reports
  admin              administers the server

Examples:
  caduceus user roles drjones clinician
  caduceus user roles @alice:hospital.example admin security_officer
  caduceus user roles bob`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, { clear: { type: 'boolean' } });
    const [user, ...names] = positionals;
    if (user === undefined) throw new UsageError('missing <user>');
    if (values.clear && names.length > 0) throw new UsageError('give roles or --clear, not both');
    const roles = values.clear ? [] : names.length > 0 ? parseRoles(names) : undefined;

    const admin = await connectAdmin(io.env, (text) => io.stderr.write(`${text}\n`));
    try {
      const userId = user.startsWith('@') ? user : `@${user.toLowerCase()}:${admin.serverName}`;
      const now = await admin.userRoles(userId, roles);
      printResult(io.stdout, userId, [['roles', now.length > 0 ? now.join(', ') : '(none)']]);
    } finally {
      await admin.close();
    }
  },
};
