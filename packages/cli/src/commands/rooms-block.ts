/** caduceus rooms block: block or unblock a room (admin API). */
import { expectPositionals, parseCommandArgs, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';

export const roomsBlock: Command = {
  name: ['rooms', 'block'],
  summary: 'Block a room, or --unblock it (admin API)',
  usage: 'rooms block <room id> [--unblock]',
  help: `A blocked room refuses new joins, invites and messages; its members can still read and leave it.

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, { ...API_OPTIONS, unblock: { type: 'boolean' } });
    const [roomId] = expectPositionals(positionals, ['room id']);
    const api = await connectAdminApi(io, values);
    const answer = await api.call('PUT', `/rooms/${encodeURIComponent(roomId!)}/block`, { body: { blocked: values.unblock !== true } });
    output(io, values.json, answer, () => `${roomId} ${answer.blocked ? 'blocked' : 'unblocked'}\n`);
  },
};
