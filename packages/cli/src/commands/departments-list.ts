/** caduceus departments list: departments by name, optionally searched (admin API). */
import { expectPositionals, parseCommandArgs, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';

export const departmentsList: Command = {
  name: ['departments', 'list'],
  summary: 'List departments (admin API)',
  usage: 'departments list [--search TEXT]',
  help: `Lists departments, one per line: id, name, functional account.

  --search TEXT   only departments whose id or name contains TEXT

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, { ...API_OPTIONS, search: { type: 'string' } });
    expectPositionals(positionals, []);
    const api = await connectAdminApi(io, values);
    const answer = await api.call('GET', '/departments', { query: { search: values.search } });
    output(io, values.json, answer, () => answer.departments.map((d: any) => `${d.department_id}\t${d.name}\t${d.functional_user_id ?? '-'}\n`).join(''));
  },
};
