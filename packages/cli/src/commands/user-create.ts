/** caduceus user create: an account made directly by the operator; no registration policy applies. */
import { expectPositionals, parseCommandArgs, printResult, type Command } from '../args.ts';
import { parseRoles } from './user-roles.ts';
import { connectAdmin } from '../admin.ts';
import { readPassword } from '../password.ts';

export const userCreate: Command = {
  name: ['user', 'create'],
  summary: 'Create an account (--admin for an administrator, --role for its organisation roles)',
  usage: 'user create <localpart> [--admin] [--role ROLE]... [--displayname NAME] [--password-stdin]',
  help: `Creates the account @<localpart>:<server name> in the configured database, whether or not the
server is running, and prints its user id. The password policy of the configuration applies.

The password is never a command-line argument (other users could read it with "ps"):
  --password-stdin      read it from the first line of stdin
  (without it)          prompt for it twice, without echo; needs a terminal

Options:
  --admin               make the account a server administrator (the same as --role admin)
  --role ROLE           an organisation role, repeatable: admin, security_officer, clinician,
                        staff, patient, service (default: none, which counts as staff)
  --displayname NAME    the display name (default: the localpart)

Examples:
  caduceus user create alice --admin
  caduceus user create drjones --role clinician --displayname "Dr Jones"
  printf '%s\\n' "$PASSWORD" | caduceus user create bob --displayname "Dr Bob Smith" --password-stdin`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      admin: { type: 'boolean' },
      role: { type: 'string', multiple: true },
      displayname: { type: 'string' },
      'password-stdin': { type: 'boolean' },
    });
    const [localpart] = expectPositionals(positionals, ['localpart']);
    const roles = parseRoles(values.role ?? []);
    const admin = await connectAdmin(io.env, (text) => io.stderr.write(`${text}\n`));
    try {
      const password = await readPassword(io.stdin, io.stderr, {
        fromStdin: values['password-stdin'] === true,
        prompt: `Password for @${localpart!.toLowerCase()}:${admin.serverName}: `,
      });
      const user = await admin.createUser({
        localpart: localpart!,
        password,
        admin: values.admin === true,
        roles,
        ...(values.displayname !== undefined ? { displayname: values.displayname } : {}),
      });
      printResult(io.stdout, user.userId, [
        ['administrator', user.admin ? 'yes' : 'no'],
        ['roles', user.roles.length > 0 ? user.roles.join(', ') : '(none)'],
        ['display name', user.displayname ?? '(none)'],
      ]);
    } finally {
      await admin.close();
    }
  },
};
