/**
 * Exports audit entries by time range, user, room, action and outcome as JSON lines, CSV or a FHIR R4 Bundle of
 * AuditEvents. The export is itself recorded (`audit.export`) before any entry leaves, so an export
 * that cannot be recorded does not happen.
 */
import type { AuditEntryRow, AuditFilter, AuditStore } from '../../storage/index.ts';
import type { AuditActor, AuditTrail } from './audit-trail.ts';
import { toFhirAuditEvent } from './fhir.ts';

export type ExportFormat = 'jsonl' | 'csv' | 'fhir';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['jsonl', 'csv', 'fhir'];

export interface ExportRequest extends AuditFilter {
  format: ExportFormat;
  serverName: string;
  /** Who exports, when not the current request (the CLI). */
  actor?: AuditActor | undefined;
  /** How the export was asked for, e.g. "cli" or "admin-api". */
  via: string;
}

/** Writes a chunk of the export; may return a promise to apply back-pressure. */
export type ExportSink = (chunk: string) => unknown;

const PAGE = 500;

function targetOf(row: AuditEntryRow): Record<string, unknown> {
  try {
    return JSON.parse(row.target) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** The entry as JSON: the columns, with target and details as objects. */
export function entryJson(row: AuditEntryRow): Record<string, unknown> {
  let details: unknown = row.details;
  try {
    details = JSON.parse(row.details);
  } catch {
    // A tampered row is exported as it is.
  }
  return {
    seq: row.seq,
    time: new Date(row.ts).toISOString(),
    actor: { user_id: row.actorUserId, device_id: row.actorDeviceId, address: row.actorAddress, user_agent: row.actorUserAgent },
    action: row.action,
    outcome: row.outcome,
    target: targetOf(row),
    request_id: row.requestId,
    details,
    prev_hash: row.prevHash,
    hash: row.hash,
  };
}

const CSV_COLUMNS = ['seq', 'time', 'actor_user_id', 'actor_device_id', 'actor_address', 'actor_user_agent', 'action', 'outcome', 'target', 'request_id', 'details', 'prev_hash', 'hash'];

/** RFC 4180 quoting; a cell that a spreadsheet would run as a formula is defused with a leading quote. */
function csvCell(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvRow(row: AuditEntryRow): string {
  return `${[row.seq, new Date(row.ts).toISOString(), row.actorUserId, row.actorDeviceId, row.actorAddress, row.actorUserAgent, row.action, row.outcome, row.target, row.requestId, row.details, row.prevHash, row.hash].map(csvCell).join(',')}\r\n`;
}

/** Streams the matching entries to `write`; returns how many were exported. */
export async function exportAuditTrail(audit: AuditTrail, store: AuditStore, request: ExportRequest, write: ExportSink): Promise<number> {
  await audit.record({
    action: 'audit.export',
    outcome: 'success',
    ...(request.actor ? { actor: request.actor } : {}),
    target: { ...(request.userId !== undefined ? { userId: request.userId } : {}), ...(request.roomId !== undefined ? { roomId: request.roomId } : {}) },
    details: {
      format: request.format,
      via: request.via,
      from: request.fromTs !== undefined ? new Date(request.fromTs).toISOString() : null,
      to: request.toTs !== undefined ? new Date(request.toTs).toISOString() : null,
      action: request.action ?? null,
      outcome: request.outcome ?? null,
    },
  });

  if (request.format === 'csv') await write(`${CSV_COLUMNS.join(',')}\r\n`);
  if (request.format === 'fhir') {
    await write(`{"resourceType":"Bundle","type":"collection","timestamp":${JSON.stringify(new Date().toISOString())},"entry":[`);
  }
  let count = 0;
  for (let after: number | undefined; ; ) {
    // The filters are SQL (indexed): each page holds only matching entries.
    const page = await store.entries({
      afterSeq: after,
      limit: PAGE,
      fromTs: request.fromTs,
      toTs: request.toTs,
      userId: request.userId,
      roomId: request.roomId,
      action: request.action,
      outcome: request.outcome,
    });
    for (const row of page) {
      if (request.format === 'jsonl') await write(`${JSON.stringify(entryJson(row))}\n`);
      else if (request.format === 'csv') await write(csvRow(row));
      else await write(`${count > 0 ? ',' : ''}\n${JSON.stringify({ fullUrl: `urn:caduceus:audit:${row.seq}`, resource: toFhirAuditEvent(row, request.serverName) })}`);
      count++;
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.seq;
  }
  // No "total": FHIR allows it only on search and history bundles.
  if (request.format === 'fhir') await write('\n]}\n');
  return count;
}
