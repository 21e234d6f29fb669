/** caduceus devices wipe: remote wipe of one device or all of a user's devices (admin API). */
import { parseCommandArgs, UsageError, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';

export const devicesWipe: Command = {
  name: ['devices', 'wipe'],
  summary: 'Remote wipe of a device, or --all devices of a user (admin API)',
  usage: 'devices wipe <user id> (<device id> | --all)',
  help: `Ends the session of the device (or of every device of the user with --all) at once; its client is
told to erase the data it keeps. For a lost or stolen phone or laptop.

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, { ...API_OPTIONS, all: { type: 'boolean' } });
    const [userId, deviceId, extra] = positionals;
    if (userId === undefined) throw new UsageError('missing <user id>');
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
    if ((deviceId === undefined) === (values.all !== true)) throw new UsageError('name one <device id>, or give --all');
    const api = await connectAdminApi(io, values);
    const base = `/users/${encodeURIComponent(userId)}/devices`;
    if (deviceId !== undefined) {
      const answer = await api.call('POST', `${base}/${encodeURIComponent(deviceId)}/wipe`);
      output(io, values.json, answer, () => `${deviceId} of ${userId} wiped\n`);
    } else {
      const answer = await api.call('POST', `${base}/wipe`);
      output(io, values.json, answer, () => `${answer.wiped} device(s) of ${userId} wiped\n`);
    }
  },
};
