/**
 * Audit entries as FHIR R4 AuditEvent resources (http://hl7.org/fhir/R4/auditevent.html), so a
 * hospital's SIEM or FHIR server can take them in. Only the fields we fill are typed here.
 */
import type { AuditEntryRow } from '../../storage/index.ts';

interface Coding {
  system?: string;
  code: string;
  display?: string;
}

interface Reference {
  identifier?: { system?: string; value: string };
  display?: string;
}

export interface FhirAuditEvent {
  resourceType: 'AuditEvent';
  id: string;
  type: Coding;
  subtype: Coding[];
  action: 'C' | 'R' | 'U' | 'D' | 'E';
  recorded: string;
  outcome: '0' | '4' | '8' | '12';
  outcomeDesc?: string;
  agent: Array<{
    type?: { coding: Coding[] };
    who?: Reference;
    altId?: string;
    requestor: boolean;
    network?: { address: string; type: '1' | '2' | '3' | '4' | '5' };
  }>;
  source: { observer: Reference; type: Coding[] };
  entity: Array<{ what: Reference; type?: Coding; detail?: Array<{ type: string; valueString: string }> }>;
}

export interface FhirBundle {
  resourceType: 'Bundle';
  type: 'collection';
  timestamp: string;
  entry: Array<{ fullUrl: string; resource: FhirAuditEvent }>;
}

const AUDIT_EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const CADUCEUS_ACTION = 'urn:caduceus:audit:action';
const MATRIX_ID = 'urn:matrix:id';

/** C/R/U/D/E from the dotted action name. */
function fhirAction(action: string): FhirAuditEvent['action'] {
  if (action.endsWith('.read') || action === 'audit.export') return 'R';
  if (action.endsWith('.create') || action === 'event.send' || action === 'auth.register' || action === 'keys.upload' || action === 'media.upload') return 'C';
  if (action.endsWith('.delete') || action === 'event.redact' || action === 'account.deactivate') return 'D';
  if (action.startsWith('auth.')) return 'E';
  return 'U';
}

/** Refused and failed actions are "minor failures" (the request was turned down), not server errors. */
const fhirOutcome = (outcome: string): FhirAuditEvent['outcome'] => (outcome === 'success' ? '0' : '4');

function parseObject(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function toFhirAuditEvent(row: AuditEntryRow, serverName: string): FhirAuditEvent {
  const target = parseObject(row.target);
  const details = parseObject(row.details);
  const event: FhirAuditEvent = {
    resourceType: 'AuditEvent',
    id: `${row.seq}`,
    type: row.action.startsWith('auth.') ? { system: AUDIT_EVENT_TYPE, code: '110114', display: 'User Authentication' } : { system: AUDIT_EVENT_TYPE, code: 'rest', display: 'RESTful Operation' },
    subtype: [{ system: CADUCEUS_ACTION, code: row.action }],
    action: fhirAction(row.action),
    recorded: new Date(row.ts).toISOString(),
    outcome: fhirOutcome(row.outcome),
    ...(row.outcome !== 'success' ? { outcomeDesc: row.outcome } : {}),
    agent: [
      {
        ...(row.actorUserId ? { who: { identifier: { system: MATRIX_ID, value: row.actorUserId } } } : {}),
        ...(row.actorDeviceId ? { altId: row.actorDeviceId } : {}),
        requestor: true,
        ...(row.actorAddress ? { network: { address: row.actorAddress, type: row.actorAddress.includes(':') || /^\d+\.\d+\.\d+\.\d+$/.test(row.actorAddress) ? '2' : '1' } } : {}),
      },
    ],
    source: { observer: { display: serverName }, type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }] },
    entity: Object.entries(target)
      .filter(([, value]) => typeof value === 'string')
      .map(([kind, value]) => ({ what: { identifier: { system: MATRIX_ID, value: value as string } }, type: { system: 'urn:caduceus:audit:target', code: kind } })),
  };
  // Facts without content (sizes, hashes, reasons), the request id and the chain link, as entity details.
  const facts = Object.entries({ ...details, request_id: row.requestId, user_agent: row.actorUserAgent, hash: row.hash, prev_hash: row.prevHash }).filter(([, v]) => v !== null && v !== undefined);
  if (facts.length > 0) {
    event.entity.push({
      what: { display: 'audit entry' },
      detail: facts.map(([type, value]) => ({ type, valueString: String(value) })),
    });
  }
  return event;
}
