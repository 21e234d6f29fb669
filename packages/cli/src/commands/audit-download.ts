/** caduceus audit download: an export of the audit trail from the running server (admin API). */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { expectPositionals, parseCommandArgs, UsageError, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi } from '../admin-client.ts';

export const auditDownload: Command = {
  name: ['audit', 'download'],
  summary: 'Export the audit trail through the admin API (jsonl, csv or fhir)',
  usage: 'audit download --format jsonl|csv|fhir [--from TIME] [--to TIME] [--user USER_ID] [--room ROOM_ID] [--output FILE]',
  help: `Streams an export from the running server to stdout or --output FILE. The export itself is
recorded in the audit trail. ("audit export" does the same directly on the database.)

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      ...API_OPTIONS,
      format: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      user: { type: 'string' },
      room: { type: 'string' },
      output: { type: 'string' },
    });
    expectPositionals(positionals, []);
    if (!values.format || !['jsonl', 'csv', 'fhir'].includes(values.format)) throw new UsageError('--format must be jsonl, csv or fhir');
    const api = await connectAdminApi(io, values);
    const response = await api.fetch('GET', '/audit/export', {
      query: { format: values.format, from_time: values.from, to_time: values.to, user_id: values.user, room_id: values.room },
    });
    const body = Readable.fromWeb(response.body as never);
    if (values.output !== undefined) await pipeline(body, createWriteStream(values.output, { mode: 0o600 }));
    else for await (const chunk of body.setEncoding('utf8')) io.stdout.write(chunk as string);
  },
};
