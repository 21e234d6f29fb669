/** caduceus tokens list: registration tokens (admin API). */
import { expectPositionals, parseCommandArgs, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, isoTime, output } from '../admin-client.ts';

export const tokensList: Command = {
  name: ['tokens', 'list'],
  summary: 'List registration tokens (admin API)',
  usage: 'tokens list',
  help: `Lists registration tokens, one per line: token, uses (completed/allowed), expiry.

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, API_OPTIONS);
    expectPositionals(positionals, []);
    const api = await connectAdminApi(io, values);
    const answer = await api.call('GET', '/registration_tokens');
    output(io, values.json, answer, () =>
      answer.registration_tokens.map((t: any) => `${t.token}\t${t.completed}/${t.uses_allowed ?? 'unlimited'}\t${t.expiry_ts === null ? 'never' : isoTime(t.expiry_ts)}\n`).join(''),
    );
  },
};
