/** caduceus audit export: audit entries by time, user, room, action and outcome as JSON lines, CSV or FHIR R4. */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { CliError, UsageError, expectPositionals, parseCommandArgs, type Command } from '../args.ts';
import { localActor } from '../local-actor.ts';
import { openAuditDatabase } from './audit-open.ts';
import { AUDIT_FILTER_OPTIONS } from './audit-filters.ts';

const FORMATS = ['jsonl', 'csv', 'fhir'] as const;
const OUTCOMES = ['success', 'failure', 'refused'] as const;

function parseTime(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new UsageError(`${flag} must be an ISO 8601 date or time, e.g. 2026-11-01 or 2026-11-01T08:00:00Z (got "${value}")`);
  return ms;
}

function checkId(flag: string, sigil: string, value: string | undefined): string | undefined {
  if (value !== undefined && !new RegExp(`^\\${sigil}[^:\\s]+:[^\\s]+$`).test(value)) throw new UsageError(`${flag} must be an id such as ${sigil === '@' ? '@alice:example.org' : '!abc:example.org'} (got "${value}")`);
  return value;
}

async function openOut(path: string): Promise<WriteStream> {
  // Never overwrite: an export is evidence. Readable by the operator only: it names people and places.
  const stream = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  await Promise.race([once(stream, 'open'), once(stream, 'error').then(([err]) => Promise.reject(err as Error))]).catch((err: NodeJS.ErrnoException) => {
    throw new CliError(err.code === 'EEXIST' ? `${path} exists already; choose another --out file` : `cannot write ${path}: ${err.message}`);
  });
  return stream;
}

export const auditExport: Command = {
  name: ['audit', 'export'],
  summary: 'Export audit entries as JSON lines, CSV or FHIR R4 AuditEvents',
  usage: 'audit export --format jsonl|csv|fhir [--from TIME] [--to TIME] [--user USER_ID] [--room ROOM_ID] [--action ACTION] [--outcome OUTCOME] [--out FILE]',
  help: `Writes the audit entries that match to stdout (or to --out FILE, which must not exist yet), read
straight from the configured database. The export itself is recorded in the audit trail first.

Options:
  --format FORMAT   jsonl (one JSON object per line), csv, or fhir (a FHIR R4 Bundle of type
                    "collection" holding one AuditEvent per entry)
  --from TIME       entries at or after this ISO 8601 time (e.g. 2026-11-01 or 2026-11-01T08:00:00Z)
  --to TIME         entries before this time
  --user USER_ID    entries the user performed or that concern them, e.g. @alice:example.org
  --room ROOM_ID    entries about this room, e.g. !abc:example.org
  --action ACTION   an exact action such as auth.login, or a prefix ending in "." such as admin.
  --outcome OUTCOME success, failure or refused
  --out FILE        write to FILE (created readable by you only) instead of stdout

Entries hold ids, sizes and hashes, never message content.

Example:
  caduceus audit export --format fhir --from 2026-11-01 --to 2026-12-01 --user @drjones:hospital.example --out audit.json`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      ...AUDIT_FILTER_OPTIONS,
      format: { type: 'string' },
      out: { type: 'string' },
    });
    expectPositionals(positionals, []);
    const format = values.format;
    if (format === undefined) throw new UsageError('--format is required: jsonl, csv or fhir');
    if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be jsonl, csv or fhir (got "${format}")`);
    const fromTs = parseTime('--from', values.from);
    const toTs = parseTime('--to', values.to);
    if (fromTs !== undefined && toTs !== undefined && toTs <= fromTs) throw new UsageError('--to must be later than --from');
    const userId = checkId('--user', '@', values.user);
    const roomId = checkId('--room', '!', values.room);
    const action = values.action;
    if (action !== undefined && !/^[a-z0-9_.]{1,100}$/.test(action)) throw new UsageError(`--action must be an action such as auth.login, or a prefix ending in "." such as admin. (got "${action}")`);
    const outcome = values.outcome;
    if (outcome !== undefined && !(OUTCOMES as readonly string[]).includes(outcome)) throw new UsageError(`--outcome must be success, failure or refused (got "${outcome}")`);

    const { server, opened } = await openAuditDatabase(io);
    let out: WriteStream | undefined;
    try {
      if (values.out !== undefined) out = await openOut(resolve(values.out));
      const sink = out;
      const write = sink ? async (chunk: string) => void (sink.write(chunk) || (await once(sink, 'drain'))) : (chunk: string) => void io.stdout.write(chunk);
      const count = await server.audit.exportAuditTrail(
        opened.services.audit,
        opened.storage.audit,
        {
          format: format as (typeof FORMATS)[number],
          fromTs,
          toTs,
          userId,
          roomId,
          action,
          outcome,
          serverName: opened.config.serverName,
          via: 'cli',
          actor: localActor(),
        },
        write,
      );
      if (out) {
        out.end();
        await once(out, 'finish');
        io.stderr.write(`${count} entr${count === 1 ? 'y' : 'ies'} written to ${resolve(values.out!)}\n`);
      }
    } finally {
      out?.destroy();
      await opened.close();
    }
  },
};
