/** caduceus audit search: find audit entries on the running server (admin API). */
import { expectPositionals, parseCommandArgs, parsePositiveInteger, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';
import { AUDIT_FILTER_OPTIONS } from './audit-filters.ts';

export const auditSearch: Command = {
  name: ['audit', 'search'],
  summary: 'Search the audit trail (admin API; administrators and security officers)',
  usage: 'audit search [--from TIME] [--to TIME] [--user USER_ID] [--room ROOM_ID] [--action ACTION] [--outcome OUTCOME] [--limit N] [--after SEQ]',
  help: `Prints matching entries, one per line: sequence number, time, actor, action, outcome, target.
Prints where to continue on stderr when there are more.

  --from TIME, --to TIME   ISO 8601 times (e.g. 2024-05-01T00:00:00Z)
  --user USER_ID           entries by or about this user
  --room ROOM_ID           entries about this room
  --action ACTION          e.g. auth.login, or a prefix ending in "." such as admin.
  --outcome OUTCOME        success, failure or refused
  --limit N                at most N entries (default 100)
  --after SEQ              continue after this sequence number

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      ...API_OPTIONS,
      ...AUDIT_FILTER_OPTIONS,
      limit: { type: 'string' },
      after: { type: 'string' },
    });
    expectPositionals(positionals, []);
    const limit = values.limit !== undefined ? parsePositiveInteger('--limit', values.limit) : undefined;
    const api = await connectAdminApi(io, values);
    const answer = await api.call('GET', '/audit/entries', {
      query: { from_time: values.from, to_time: values.to, user_id: values.user, room_id: values.room, action: values.action, outcome: values.outcome, limit, from: values.after },
    });
    output(io, values.json, answer, () =>
      answer.entries
        .map((e: any) => `${e.seq}\t${e.time}\t${e.actor.user_id ?? e.actor.address ?? '-'}\t${e.action}\t${e.outcome}\t${JSON.stringify(e.target)}\n`)
        .join(''),
    );
    if (!values.json && answer.next_from !== undefined) io.stderr.write(`more: --after ${answer.next_from}\n`);
  },
};
