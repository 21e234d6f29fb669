/** caduceus audit download: an export of the audit trail from the running server (admin API). */
import { open, rm } from 'node:fs/promises';
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
    // An export is evidence: never overwrite one. Claim the file before the server records the export.
    const file = values.output !== undefined ? await open(values.output, 'wx', 0o600) : undefined;
    try {
      const response = await api.fetch('GET', '/audit/export', {
        query: { format: values.format, from_time: values.from, to_time: values.to, user_id: values.user, room_id: values.room },
      });
      const body = Readable.fromWeb(response.body as never);
      if (file) await pipeline(body, file.createWriteStream());
      else for await (const chunk of body.setEncoding('utf8')) io.stdout.write(chunk as string);
    } catch (err) {
      // No half-written evidence left behind.
      if (file && values.output !== undefined) await file.close().catch(() => {}).then(() => rm(values.output!, { force: true }));
      throw err;
    }
  },
};
