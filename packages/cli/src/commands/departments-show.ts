/** caduceus departments show: one department with its members (admin API). */
import { expectPositionals, parseCommandArgs, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';
import { printDepartment } from './departments-print.ts';

export const departmentsShow: Command = {
  name: ['departments', 'show'],
  summary: 'Show a department and its members (admin API)',
  usage: 'departments show <department id>',
  help: `Prints the department's name, description, functional account and members.

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, API_OPTIONS);
    const [id] = expectPositionals(positionals, ['department id']);
    const api = await connectAdminApi(io, values);
    const answer = await api.call('GET', `/departments/${encodeURIComponent(id!)}`);
    output(io, values.json, answer, () => '');
    if (!values.json) printDepartment(io.stdout, answer);
  },
};
