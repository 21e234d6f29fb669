/** Events as clients see them (spec: "ClientEvent"): no PDU internals, server extras in `unsigned`. */
import type { PersistedEvent } from '@caduceus/core';
import type { EventRow } from '../../storage/index.ts';

export interface ClientEvent {
  event_id: string;
  room_id?: string;
  type: string;
  state_key?: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  redacts?: string;
  unsigned?: Record<string, unknown>;
}

export interface FormatOptions {
  now: number;
  /** Transaction ids of the requesting device, by event id. */
  txnIds?: ReadonlyMap<string, string> | undefined;
  /** /sync leaves room_id out of events nested under their room. */
  omitRoomId?: boolean | undefined;
}

export function clientEventOf(event: PersistedEvent, extra: Record<string, unknown>, options: FormatOptions): ClientEvent {
  const unsigned: Record<string, unknown> = { ...extra, age: Math.max(0, options.now - event.origin_server_ts) };
  if (unsigned.redacted_because && typeof unsigned.redacted_because === 'object') {
    unsigned.redacted_because = clientEventOf(unsigned.redacted_because as PersistedEvent, {}, { now: options.now });
  }
  const txnId = options.txnIds?.get(event.event_id);
  if (txnId !== undefined) unsigned.transaction_id = txnId;
  return {
    event_id: event.event_id,
    ...(options.omitRoomId ? {} : { room_id: event.room_id }),
    type: event.type,
    ...(event.state_key !== undefined ? { state_key: event.state_key } : {}),
    sender: event.sender,
    origin_server_ts: event.origin_server_ts,
    content: event.content,
    ...(event.redacts !== undefined ? { redacts: event.redacts } : {}),
    unsigned,
  };
}

/**
 * The parsed JSON of rows that are formatted again and again: /sync hands the same row objects
 * (from the recent-events window) to every member a message wakes, and each answer needs the event
 * parsed. Read-only: formatting copies what it changes.
 */
const parsedRows = new WeakMap<EventRow, { event: PersistedEvent; unsigned: Record<string, unknown> }>();

export function clientEvent(row: EventRow, options: FormatOptions): ClientEvent {
  let parsed = parsedRows.get(row);
  if (!parsed) {
    parsed = { event: JSON.parse(row.json) as PersistedEvent, unsigned: JSON.parse(row.unsigned) as Record<string, unknown> };
    parsedRows.set(row, parsed);
  }
  return clientEventOf(parsed.event, parsed.unsigned, options);
}

/** Stripped state (spec: "StrippedStateEvent"), for invites. */
export function strippedEvent(row: EventRow) {
  const event = JSON.parse(row.json) as PersistedEvent;
  return { type: event.type, state_key: event.state_key ?? '', sender: event.sender, content: event.content };
}
