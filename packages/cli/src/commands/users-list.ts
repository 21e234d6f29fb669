/** caduceus users list: accounts, page by page (admin API). */
import { expectPositionals, parseCommandArgs, parsePositiveInteger, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, isoTime, output } from '../admin-client.ts';

export const usersList: Command = {
  name: ['users', 'list'],
  summary: 'List accounts (admin API)',
  usage: 'users list [--search TEXT] [--limit N] [--from TOKEN]',
  help: `Lists accounts, one per line: user id, roles, state, created. Prints the token for the next page
on stderr when there is one.

Options:
  --search TEXT         only ids or display names containing TEXT (any case)
  --limit N             at most N accounts (default 100)
  --from TOKEN          continue after a previous page

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, { ...API_OPTIONS, search: { type: 'string' }, limit: { type: 'string' }, from: { type: 'string' } });
    expectPositionals(positionals, []);
    const limit = values.limit !== undefined ? parsePositiveInteger('--limit', values.limit) : undefined;
    const api = await connectAdminApi(io, values);
    const answer = await api.call('GET', '/users', { query: { search: values.search, limit, from: values.from } });
    output(io, values.json, answer, () =>
      answer.users
        .map((u: any) => `${u.user_id}\t${u.roles.join(',') || '-'}\t${u.deactivated ? 'deactivated' : 'active'}\t${isoTime(u.created_ts)}\n`)
        .join(''),
    );
    if (!values.json && answer.next_from) io.stderr.write(`more: --from ${answer.next_from}\n`);
  },
};
