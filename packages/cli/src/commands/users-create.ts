/** caduceus users create: an account with roles, made through the admin API (audited as the administrator). */
import { expectPositionals, parseCommandArgs, printResult, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';
import { readPassword } from '../password.ts';

export const usersCreate: Command = {
  name: ['users', 'create'],
  summary: 'Create an account with roles (admin API)',
  usage: 'users create <localpart> [--role ROLE]... [--displayname NAME] [--password-stdin]',
  help: `Creates @<localpart>:<server name> through the admin API of the running server and prints its id.

  --role ROLE           admin, security_officer, clinician, staff, patient or service (repeatable)
  --displayname NAME    the display name (default: the localpart)
  --password-stdin      read the password from the first line of stdin (else: prompt twice)

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      ...API_OPTIONS,
      role: { type: 'string', multiple: true },
      displayname: { type: 'string' },
      'password-stdin': { type: 'boolean' },
    });
    const [localpart] = expectPositionals(positionals, ['localpart']);
    const api = await connectAdminApi(io, values);
    const password = await readPassword(io.stdin, io.stderr, { fromStdin: values['password-stdin'] === true, prompt: `Password for ${localpart}: ` });
    const answer = await api.call('POST', '/users', { body: { localpart, password, roles: values.role ?? [], ...(values.displayname !== undefined ? { displayname: values.displayname } : {}) } });
    output(io, values.json, answer, () => '');
    if (!values.json) printResult(io.stdout, answer.user_id, [['roles', answer.roles.join(', ') || '(none)']]);
  },
};
