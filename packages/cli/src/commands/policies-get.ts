/** caduceus policies get: the organisation policies in force (admin API). */
import { expectPositionals, parseCommandArgs, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';

export const policiesGet: Command = {
  name: ['policies', 'get'],
  summary: 'Show the organisation policies (admin API)',
  usage: 'policies get',
  help: `Prints each policy: its value, and whether it comes from the configuration or was set by an
administrator (stored in the database; "policies set KEY=default" goes back to the configuration).

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, API_OPTIONS);
    expectPositionals(positionals, []);
    const api = await connectAdminApi(io, values);
    const answer = await api.call('GET', '/policies');
    output(io, values.json, answer, () => renderPolicies(answer.policies));
  },
};

export function renderPolicies(policies: Record<string, { value: unknown; default: unknown; source: string }>): string {
  return Object.entries(policies)
    .map(([key, p]) => `${key}=${JSON.stringify(p.value)}\t(${p.source === 'stored' ? `set by an administrator; configured: ${JSON.stringify(p.default)}` : 'from the configuration'})\n`)
    .join('');
}
