/** caduceus users deactivate: close an account and end its sessions (admin API). */
import { expectPositionals, parseCommandArgs, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';

export const usersDeactivate: Command = {
  name: ['users', 'deactivate'],
  summary: 'Deactivate an account (admin API)',
  usage: 'users deactivate <user id>',
  help: `Closes the account: it can no longer sign in, its sessions end and its roles are removed.
This cannot be undone.

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, API_OPTIONS);
    const [userId] = expectPositionals(positionals, ['user id']);
    const api = await connectAdminApi(io, values);
    const answer = await api.call('POST', `/users/${encodeURIComponent(userId!)}/deactivate`);
    output(io, values.json, answer, () => `${userId} deactivated\n`);
  },
};
