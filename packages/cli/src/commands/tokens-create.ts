/** caduceus tokens create: a registration token (admin API). */
import { expectPositionals, parseCommandArgs, parseDuration, parsePositiveInteger, printResult, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, isoTime, output } from '../admin-client.ts';

export const tokensCreate: Command = {
  name: ['tokens', 'create'],
  summary: 'Create a registration token (admin API)',
  usage: 'tokens create [--uses N] [--expires-in DURATION] [--token TOKEN]',
  help: `Creates a registration token on the running server and prints it.

  --uses N                 how many registrations it allows (default: unlimited)
  --expires-in DURATION    how long it stays valid, e.g. 30m, 12h, 7d (default: no expiry)
  --token TOKEN            the token itself (default: random)

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, { ...API_OPTIONS, uses: { type: 'string' }, 'expires-in': { type: 'string' }, token: { type: 'string' } });
    expectPositionals(positionals, []);
    const uses = values.uses !== undefined ? parsePositiveInteger('--uses', values.uses) : undefined;
    const lifetime = values['expires-in'] !== undefined ? parseDuration('--expires-in', values['expires-in']) : undefined;
    const api = await connectAdminApi(io, values);
    const answer = await api.call('POST', '/registration_tokens', {
      body: { ...(values.token !== undefined ? { token: values.token } : {}), ...(uses !== undefined ? { uses_allowed: uses } : {}), ...(lifetime !== undefined ? { expiry_time: Date.now() + lifetime } : {}) },
    });
    output(io, values.json, answer, () => '');
    if (!values.json) {
      printResult(io.stdout, answer.token, [
        ['uses', answer.uses_allowed === null ? 'unlimited' : String(answer.uses_allowed)],
        ['expires', answer.expiry_ts === null ? 'never' : isoTime(answer.expiry_ts)],
      ]);
    }
  },
};
