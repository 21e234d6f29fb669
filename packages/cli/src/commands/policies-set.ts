/** caduceus policies set: change organisation policies at run time (admin API). */
import { parseCommandArgs, parseDuration, UsageError, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';
import { renderPolicies } from './policies-get.ts';

/** Policies whose value is a duration in milliseconds: the command takes 30m, 12h, 0. */
const DURATIONS = new Set(['session_idle_timeout_ms', 'session_max_lifetime_ms']);

export const policiesSet: Command = {
  name: ['policies', 'set'],
  summary: 'Change organisation policies (admin API)',
  usage: 'policies set KEY=VALUE...',
  help: `Changes policies on the running server at once, without a restart; all of them or none.
KEY=default goes back to the configured value. Keys (see "policies get"):
  mfa=required|optional
  room_encryption=required|optional
  session_idle_timeout_ms=30m       (a duration such as 15m or 8h, or 0 for never)
  session_max_lifetime_ms=12h

Example:
  caduceus policies set room_encryption=required session_idle_timeout_ms=15m

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, API_OPTIONS);
    if (positionals.length === 0) throw new UsageError('name at least one KEY=VALUE');
    const changes: Record<string, unknown> = {};
    for (const pair of positionals) {
      const match = /^([a-z_]+)=(.*)$/.exec(pair);
      if (!match) throw new UsageError(`"${pair}" is not KEY=VALUE`);
      const [, key, text] = match as unknown as [string, string, string];
      changes[key] = text === 'default' ? null : DURATIONS.has(key) ? (text === '0' ? 0 : parseDuration(key, text)) : text;
    }
    const api = await connectAdminApi(io, values);
    const answer = await api.call('PUT', '/policies', { body: changes });
    output(io, values.json, answer, () => renderPolicies(answer.policies));
  },
};
