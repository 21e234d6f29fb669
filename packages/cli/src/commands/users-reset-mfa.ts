/** caduceus users reset-mfa: remove a user's second factors (admin API). */
import { expectPositionals, parseCommandArgs, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';

export const usersResetMfa: Command = {
  name: ['users', 'reset-mfa'],
  summary: "Remove a user's second factors (admin API)",
  usage: 'users reset-mfa <user id>',
  help: `Removes the user's authenticator app, passkeys and recovery codes; the user enrols again at the
next sign-in. Use it when someone lost their phone or key, after checking who they are.

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, API_OPTIONS);
    const [userId] = expectPositionals(positionals, ['user id']);
    const api = await connectAdminApi(io, values);
    const answer = await api.call('POST', `/users/${encodeURIComponent(userId!)}/reset-mfa`);
    output(io, values.json, answer, () => `${answer.removed} second factor(s) of ${userId} removed\n`);
  },
};
