/** caduceus notices send: a server notice to every user (admin API). */
import { parseCommandArgs, UsageError, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';
import { readFirstLine } from '../password.ts';

export const noticesSend: Command = {
  name: ['notices', 'send'],
  summary: 'Send a server notice to every user (admin API)',
  usage: 'notices send (<text> | --stdin)',
  help: `Every active user receives the text in their server notices room. Keep patient information out
of notices: they are not end-to-end encrypted.

  --stdin               read the text from the first line of stdin

Example:
  caduceus notices send "Maintenance tonight 22:00-23:00"

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, { ...API_OPTIONS, stdin: { type: 'boolean' } });
    if (values.stdin ? positionals.length > 0 : positionals.length !== 1) throw new UsageError('give the text as one argument (quoted), or --stdin');
    const body = values.stdin ? await readFirstLine(io.stdin) : positionals[0];
    if (!body) throw new UsageError('the notice is empty');
    const api = await connectAdminApi(io, values);
    const answer = await api.call('POST', '/notices', { body: { body } });
    output(io, values.json, answer, () => `sent to ${answer.recipients} user(s)\n`);
  },
};
