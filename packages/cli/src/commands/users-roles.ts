/** caduceus users roles: show or replace a user's roles (admin API). */
import { expectPositionals, parseCommandArgs, printResult, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';

export const usersRoles: Command = {
  name: ['users', 'roles'],
  summary: "Show or set a user's roles (admin API)",
  usage: 'users roles <user id> [--set ROLE,ROLE...]',
  help: `Without --set, prints the user's roles. With --set, replaces them (an empty --set= removes all).
Roles: admin, security_officer, clinician, staff, patient, service.

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, { ...API_OPTIONS, set: { type: 'string' } });
    const [userId] = expectPositionals(positionals, ['user id']);
    const api = await connectAdminApi(io, values);
    const path = `/users/${encodeURIComponent(userId!)}`;
    const answer =
      values.set !== undefined
        ? await api.call('PUT', `${path}/roles`, { body: { roles: values.set.split(',').map((r) => r.trim()).filter(Boolean) } })
        : await api.call('GET', path);
    output(io, values.json, answer, () => '');
    if (!values.json) printResult(io.stdout, answer.user_id, [['roles', answer.roles.join(', ') || '(none)']]);
  },
};
