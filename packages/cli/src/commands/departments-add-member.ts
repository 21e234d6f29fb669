/** caduceus departments add-member: a user joins a department (admin API). */
import { expectPositionals, parseCommandArgs, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';

export const departmentsAddMember: Command = {
  name: ['departments', 'add-member'],
  summary: 'Add a member to a department (admin API)',
  usage: 'departments add-member <department id> <user id>',
  help: `Adds an account of this server to the department.

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, API_OPTIONS);
    const [id, userId] = expectPositionals(positionals, ['department id', 'user id']);
    const api = await connectAdminApi(io, values);
    const answer = await api.call('PUT', `/departments/${encodeURIComponent(id!)}/members/${encodeURIComponent(userId!)}`, { body: {} });
    output(io, values.json, answer, () => (answer.added ? `${userId} added to ${id}\n` : `${userId} was already a member of ${id}\n`));
  },
};
