/** caduceus tokens delete: remove a registration token (admin API). */
import { expectPositionals, parseCommandArgs, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';

export const tokensDelete: Command = {
  name: ['tokens', 'delete'],
  summary: 'Delete a registration token (admin API)',
  usage: 'tokens delete <token>',
  help: `Deletes the token: nobody can register with it any more.

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, API_OPTIONS);
    const [token] = expectPositionals(positionals, ['token']);
    const api = await connectAdminApi(io, values);
    const answer = await api.call('DELETE', `/registration_tokens/${encodeURIComponent(token!)}`);
    output(io, values.json, answer, () => `${token} deleted\n`);
  },
};
