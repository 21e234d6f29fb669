/** caduceus departments set-account: the account that stands for a department (admin API). */
import { UsageError, parseCommandArgs, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';
import { printDepartment } from './departments-print.ts';

export const departmentsSetAccount: Command = {
  name: ['departments', 'set-account'],
  summary: "Set or clear a department's functional account (admin API)",
  usage: 'departments set-account <department id> (<user id> | --none)',
  help: `Makes the account stand for the department in the user directory, or with --none, no account.
An account stands for one department at most.

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, { ...API_OPTIONS, none: { type: 'boolean' } });
    const [id, userId, ...extra] = positionals;
    if (id === undefined) throw new UsageError('missing <department id>');
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    if ((userId === undefined) === !values.none) throw new UsageError('give a <user id> or --none');
    const api = await connectAdminApi(io, values);
    const answer = await api.call('PUT', `/departments/${encodeURIComponent(id)}/functional-account`, { body: { user_id: userId ?? null } });
    output(io, values.json, answer, () => '');
    if (!values.json) printDepartment(io.stdout, answer);
  },
};
