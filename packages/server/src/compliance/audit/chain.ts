/**
 * The hash chain and its signed checkpoints, as pure functions: how an entry's hash is computed
 * (SHA-256 over the canonical JSON of every column but the hash itself, the previous entry's hash
 * included), and what a checkpoint signs. The verifier and the writer share exactly this code.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson, decodeUnpaddedBase64, encodeUnpaddedBase64 } from '@caduceus/core';
import type { AuditCheckpointRow, AuditEntryRow } from '../../storage/index.ts';

/** The "previous hash" of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** The hash an entry must carry; throws when a (tampered) column has no canonical form. */
export function entryHash(row: Omit<AuditEntryRow, 'hash'>): string {
  const hashed = {
    seq: row.seq,
    ts: row.ts,
    actor_user_id: row.actorUserId,
    actor_device_id: row.actorDeviceId,
    actor_address: row.actorAddress,
    actor_user_agent: row.actorUserAgent,
    action: row.action,
    outcome: row.outcome,
    target: row.target,
    request_id: row.requestId,
    details: row.details,
    prev_hash: row.prevHash,
  };
  return createHash('sha256').update(canonicalJson(hashed), 'utf8').digest('hex');
}

function checkpointPayload(checkpoint: Omit<AuditCheckpointRow, 'signature'>): Buffer {
  return Buffer.from(canonicalJson({ type: 'caduceus.audit.checkpoint', seq: checkpoint.seq, ts: checkpoint.ts, hash: checkpoint.hash, key_id: checkpoint.keyId }), 'utf8');
}

export function signCheckpoint(checkpoint: Omit<AuditCheckpointRow, 'signature'>, privateKey: KeyObject): AuditCheckpointRow {
  return { ...checkpoint, signature: encodeUnpaddedBase64(sign(null, checkpointPayload(checkpoint), privateKey)) };
}

/** True when `checkpoint` was signed by the holder of the ed25519 public key (raw, unpadded base64). */
export function checkpointSignatureValid(checkpoint: AuditCheckpointRow, publicKeyBase64: string): boolean {
  try {
    const publicKey = createPublicKey({
      key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), decodeUnpaddedBase64(publicKeyBase64)]),
      format: 'der',
      type: 'spki',
    });
    return verify(null, checkpointPayload(checkpoint), publicKey, decodeUnpaddedBase64(checkpoint.signature));
  } catch {
    return false;
  }
}

/**
 * What the trail records of an event's content: its size and SHA-256, both over its canonical JSON
 * (so the same content always gives the same hash) — proof of what was sent, never what it said.
 */
export function contentFacts(content: Record<string, unknown>): { size: number; sha256: string } {
  let canonical: string;
  try {
    canonical = canonicalJson(content);
  } catch {
    // Content the appender accepted is canonical; this is only a fallback that never throws.
    canonical = JSON.stringify(content);
  }
  return { size: Buffer.byteLength(canonical, 'utf8'), sha256: createHash('sha256').update(canonical, 'utf8').digest('hex') };
}
