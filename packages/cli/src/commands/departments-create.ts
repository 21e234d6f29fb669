/** caduceus departments create: a department, optionally with its functional account (admin API). */
import { UsageError, expectPositionals, parseCommandArgs, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';
import { printDepartment } from './departments-print.ts';

export const departmentsCreate: Command = {
  name: ['departments', 'create'],
  summary: 'Create a department (admin API)',
  usage: 'departments create <department id> --name NAME [--description TEXT] [--account USER_ID]',
  help: `Creates a department. Staff and clinicians find its functional account in the user directory
under the department's name; patients may invite it without sharing a room first.

  <department id>       1-64 characters of a-z, 0-9, ".", "_" and "-", e.g. cardiology
  --name NAME           the name people search for, e.g. Cardiology
  --description TEXT    a line about the department
  --account USER_ID     the account that stands for it, e.g. @cardiology:hospital.example

Example:
  caduceus departments create cardiology --name Cardiology --account @cardiology:hospital.example

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, { ...API_OPTIONS, name: { type: 'string' }, description: { type: 'string' }, account: { type: 'string' } });
    const [id] = expectPositionals(positionals, ['department id']);
    if (values.name === undefined) throw new UsageError('--name is required, e.g. --name Cardiology');
    const api = await connectAdminApi(io, values);
    const answer = await api.call('POST', '/departments', {
      body: {
        department_id: id,
        name: values.name,
        ...(values.description !== undefined ? { description: values.description } : {}),
        ...(values.account !== undefined ? { functional_user_id: values.account } : {}),
      },
    });
    output(io, values.json, answer, () => '');
    if (!values.json) printDepartment(io.stdout, answer);
  },
};
