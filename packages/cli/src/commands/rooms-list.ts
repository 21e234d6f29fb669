/** caduceus rooms list: rooms, page by page (admin API). */
import { expectPositionals, parseCommandArgs, parsePositiveInteger, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, isoTime, output } from '../admin-client.ts';

export const roomsList: Command = {
  name: ['rooms', 'list'],
  summary: 'List rooms (admin API)',
  usage: 'rooms list [--limit N] [--from TOKEN]',
  help: `Lists rooms, one per line: room id, joined members, published in the directory or not, blocked, created.
Prints the token for the next page on stderr when there is one. Never shows messages.

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, { ...API_OPTIONS, limit: { type: 'string' }, from: { type: 'string' } });
    expectPositionals(positionals, []);
    const limit = values.limit !== undefined ? parsePositiveInteger('--limit', values.limit) : undefined;
    const api = await connectAdminApi(io, values);
    const answer = await api.call('GET', '/rooms', { query: { limit, from: values.from } });
    output(io, values.json, answer, () =>
      answer.rooms
        .map((r: any) => `${r.room_id}\t${r.joined_members} joined\t${r.published ? 'published' : 'unlisted'}${r.blocked ? '\tBLOCKED' : ''}\t${isoTime(r.created_ts)}\n`)
        .join(''),
    );
    if (!values.json && answer.next_from) io.stderr.write(`more: --from ${answer.next_from}\n`);
  },
};
