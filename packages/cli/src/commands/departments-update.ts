/** caduceus departments update: rename a department or change its description (admin API). */
import { UsageError, expectPositionals, parseCommandArgs, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';
import { printDepartment } from './departments-print.ts';

export const departmentsUpdate: Command = {
  name: ['departments', 'update'],
  summary: 'Rename a department or change its description (admin API)',
  usage: 'departments update <department id> [--name NAME] [--description TEXT | --no-description]',
  help: `Changes what is given; the rest stays.

  --name NAME           the new name
  --description TEXT    the new description
  --no-description      remove the description

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, { ...API_OPTIONS, name: { type: 'string' }, description: { type: 'string' }, 'no-description': { type: 'boolean' } });
    const [id] = expectPositionals(positionals, ['department id']);
    if (values.description !== undefined && values['no-description']) throw new UsageError('give --description or --no-description, not both');
    const body = {
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(values.description !== undefined ? { description: values.description } : {}),
      ...(values['no-description'] ? { description: null } : {}),
    };
    if (Object.keys(body).length === 0) throw new UsageError('nothing to change: give --name, --description or --no-description');
    const api = await connectAdminApi(io, values);
    const answer = await api.call('PUT', `/departments/${encodeURIComponent(id!)}`, { body });
    output(io, values.json, answer, () => '');
    if (!values.json) printDepartment(io.stdout, answer);
  },
};
