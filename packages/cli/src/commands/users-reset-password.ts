/** caduceus users reset-password: set a new password for a user (admin API). */
import { expectPositionals, parseCommandArgs, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';
import { readPassword } from '../password.ts';

export const usersResetPassword: Command = {
  name: ['users', 'reset-password'],
  summary: "Set a user's password (admin API)",
  usage: 'users reset-password <user id> [--keep-sessions] [--password-stdin]',
  help: `Sets a new password (the password policy applies). Every session of the user ends, unless
--keep-sessions is given.

  --password-stdin      read the password from the first line of stdin (else: prompt twice)

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, { ...API_OPTIONS, 'keep-sessions': { type: 'boolean' }, 'password-stdin': { type: 'boolean' } });
    const [userId] = expectPositionals(positionals, ['user id']);
    const api = await connectAdminApi(io, values);
    const password = await readPassword(io.stdin, io.stderr, { fromStdin: values['password-stdin'] === true, prompt: `New password for ${userId}: ` });
    const answer = await api.call('POST', `/users/${encodeURIComponent(userId!)}/reset-password`, {
      body: { new_password: password, logout_devices: values['keep-sessions'] !== true },
    });
    output(io, values.json, answer, () => `password of ${userId} changed${values['keep-sessions'] ? '' : '; its sessions ended'}\n`);
  },
};
