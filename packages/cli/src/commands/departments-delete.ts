/** caduceus departments delete: remove a department (admin API). */
import { expectPositionals, parseCommandArgs, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';

export const departmentsDelete: Command = {
  name: ['departments', 'delete'],
  summary: 'Delete a department (admin API)',
  usage: 'departments delete <department id>',
  help: `Deletes the department and its member list. The accounts themselves stay.

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, API_OPTIONS);
    const [id] = expectPositionals(positionals, ['department id']);
    const api = await connectAdminApi(io, values);
    const answer = await api.call('DELETE', `/departments/${encodeURIComponent(id!)}`);
    output(io, values.json, answer, () => `${id} deleted\n`);
  },
};
