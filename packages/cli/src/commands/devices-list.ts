/** caduceus devices list: a user's devices (admin API). */
import { expectPositionals, parseCommandArgs, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, isoTime, output } from '../admin-client.ts';

export const devicesList: Command = {
  name: ['devices', 'list'],
  summary: "List a user's devices (admin API)",
  usage: 'devices list <user id>',
  help: `Lists the user's devices (sessions), one per line: device id, last seen, address, name.

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, API_OPTIONS);
    const [userId] = expectPositionals(positionals, ['user id']);
    const api = await connectAdminApi(io, values);
    const answer = await api.call('GET', `/users/${encodeURIComponent(userId!)}/devices`);
    output(io, values.json, answer, () =>
      answer.devices.map((d: any) => `${d.device_id}\t${isoTime(d.last_seen_ts)}\t${d.last_seen_ip ?? '-'}\t${d.display_name ?? ''}\n`).join(''),
    );
  },
};
