/** caduceus departments remove-member: a user leaves a department (admin API). */
import { expectPositionals, parseCommandArgs, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';

export const departmentsRemoveMember: Command = {
  name: ['departments', 'remove-member'],
  summary: 'Remove a member from a department (admin API)',
  usage: 'departments remove-member <department id> <user id>',
  help: `Removes the account from the department.

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, API_OPTIONS);
    const [id, userId] = expectPositionals(positionals, ['department id', 'user id']);
    const api = await connectAdminApi(io, values);
    const answer = await api.call('DELETE', `/departments/${encodeURIComponent(id!)}/members/${encodeURIComponent(userId!)}`);
    output(io, values.json, answer, () => (answer.removed ? `${userId} removed from ${id}\n` : `${userId} was not a member of ${id}\n`));
  },
};
