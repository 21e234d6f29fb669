/**
 * Hashing, signing and event ids of room events (server-server API, "Signing Events": "Adding hashes and
 * signatures to outgoing events", "Calculating the reference hash for an event", "Calculating the content
 * hash for an event"; room versions 4+: the event id is the URL-safe unpadded base64 reference hash).
 *
 * In room versions 10 and 11 the `event_id` is not part of the PDU — it is derived from it — so every
 * function here hashes and signs the event *without* `event_id`, whether or not the input carries one.
 */
import { createHash, sign } from 'node:crypto';
import { canonicalJson, encodeUnpaddedBase64 } from '@caduceus/core';
import { placeRedacts, redactEvent, redactedEventId, type PersistedEvent, type RoomVersion } from '@caduceus/core';
import { signJson, verifyJsonSignature, type SigningKey } from './signing-key.ts';

type JsonObject = Record<string, unknown>;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The PDU as hashed and signed: the event without its derived `event_id`. */
function pduOf(event: object): JsonObject {
  const { event_id: _id, ...pdu } = event as JsonObject;
  return pdu;
}

/**
 * The content hash (unpadded base64 of sha256): over the canonical JSON of the whole, unredacted event
 * without `unsigned`, `signatures`, `hashes` (and the derived `event_id`).
 */
export function computeContentHash(event: object): string {
  const { unsigned: _u, signatures: _s, hashes: _h, ...hashed } = pduOf(event);
  return encodeUnpaddedBase64(sha256(canonicalJson(hashed)));
}

/** Whether `hashes.sha256` matches the event's content (false means it was redacted or altered). */
export function hasValidContentHash(event: object): boolean {
  const hashes = (event as JsonObject).hashes as { sha256?: unknown } | undefined;
  return typeof hashes?.sha256 === 'string' && hashes.sha256 === computeContentHash(event);
}

/**
 * The reference hash: redact the event, remove `signatures` and `unsigned` (and the legacy `age_ts`),
 * take the sha256 of its canonical JSON. It covers the `hashes`, so a content change changes it unless
 * the changed key is one redaction removes — and then the content hash (inside it) still changes it.
 */
export function computeReferenceHash(event: object, roomVersion: RoomVersion): Buffer {
  const redacted = redactEvent(pduOf(event), roomVersion);
  const { signatures: _s, unsigned: _u, age_ts: _a, ...hashed } = redacted;
  return sha256(canonicalJson(hashed));
}

/** The event id of room versions 4+: `$` + URL-safe unpadded base64 of the reference hash. */
export function computeEventId(event: object, roomVersion: RoomVersion): string {
  return `$${computeReferenceHash(event, roomVersion).toString('base64url')}`;
}

/**
 * Signs the *redacted* form of the event (so the signature survives redaction) with this server's key
 * and copies the signature onto the event; other signatures are kept. The event must already carry its
 * content hash in `hashes` (the signature covers it).
 */
export function signEvent<E extends object>(event: E, roomVersion: RoomVersion, serverName: string, key: SigningKey): E {
  const signed = signJson(redactEvent(pduOf(event), roomVersion), serverName, key);
  return { ...event, signatures: signed.signatures };
}

/** Checks one server's signature over the redacted form of an event. */
export function verifyEventSignature(event: object, roomVersion: RoomVersion, serverName: string, keyId: string, publicKeyBase64: string): boolean {
  return verifyJsonSignature(redactEvent(pduOf(event), roomVersion), serverName, keyId, publicKeyBase64);
}

/** What the caller decides about a new event; `buildEvent` adds the hashes, signatures and id. */
export interface EventDraft {
  room_id: string;
  type: string;
  state_key?: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  depth: number;
  prev_events: string[];
  auth_events: string[];
  /** For `m.room.redaction`: the target; may also be given as `content.redacts`. */
  redacts?: string;
  /** Not hashed or signed (e.g. `transaction_id` bookkeeping). */
  unsigned?: Record<string, unknown>;
}

/**
 * Builds a complete event in the spec's order: content hash, then signature over the redacted form,
 * then the event id (reference hash, which covers the content hash but not the signatures).
 * For `m.room.redaction` the target goes where the room version wants it (`content.redacts` in v11)
 * and is also kept at the top level for clients.
 */
export function buildEvent(draft: EventDraft, roomVersion: RoomVersion, serverName: string, key: SigningKey): PersistedEvent {
  const { unsigned, redacts: _r, ...fields } = draft;
  let pdu: Omit<PersistedEvent, 'event_id' | 'hashes' | 'signatures' | 'unsigned'> = { ...fields, content: { ...draft.content } };
  if (draft.type === 'm.room.redaction') {
    const target = redactedEventId(draft, roomVersion);
    if (target !== undefined) pdu = { ...pdu, ...placeRedacts(pdu.content, target, roomVersion) };
  }
  const hashed = { ...pdu, hashes: { sha256: computeContentHash(pdu) } };
  // The signature and the reference hash cover the same bytes (the redacted event without
  // signatures and unsigned): build them once and use them for both.
  const signedBytes = Buffer.from(canonicalJson(redactEvent(hashed, roomVersion)), 'utf8');
  const signature = encodeUnpaddedBase64(sign(null, signedBytes, key.privateKey));
  const event: PersistedEvent = {
    event_id: `$${createHash('sha256').update(signedBytes).digest('base64url')}`,
    ...hashed,
    signatures: { [serverName]: { [key.keyId]: signature } },
  };
  if (unsigned !== undefined) event.unsigned = unsigned;
  return event;
}
