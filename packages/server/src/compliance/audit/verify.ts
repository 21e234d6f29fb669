/**
 * Checks the audit trail end to end: every entry's hash matches its contents, every entry names its
 * predecessor's hash, sequence numbers run 1, 2, 3… without a gap, and every checkpoint carries a
 * valid signature of this server's key over the hash the chain has at that point. Any modified,
 * deleted, inserted or reordered entry breaks one of these at a sequence number the report names.
 *
 * What it cannot see: entries removed from the very end after the last checkpoint, or a chain
 * rebuilt after the last checkpoint by someone with write access (checkpoints bound both).
 */
import type { AuditEntryRow, AuditStore } from '../../storage/index.ts';
import { GENESIS_HASH, checkpointSignatureValid, entryHash } from './chain.ts';

export type AuditProblemKind = 'modified' | 'moved' | 'missing' | 'unexpected' | 'broken-link' | 'checkpoint';

export interface AuditProblem {
  /** The sequence number where the chain stops holding. */
  seq: number;
  kind: AuditProblemKind;
  message: string;
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  /** The newest sequence number found. */
  lastSeq: number;
  checkpoints: number;
  /** The newest checkpoint that verified, if any: everything up to it is proven unaltered. */
  lastVerifiedCheckpoint: number | undefined;
  problems: AuditProblem[];
}

export interface VerifyOptions {
  /** The server's ed25519 public key (raw, unpadded base64) and key id, to check checkpoint signatures. */
  publicKeyBase64: string;
  keyId: string;
  /** Stop after this many problems (a wrecked table would otherwise report every row). */
  maxProblems?: number;
}

const PAGE = 1000;
/** How far a renumbered entry is looked for (an entry moved further is reported as modified). */
const MOVE_SEARCH = 16;

function hashMatches(row: AuditEntryRow, seq: number): boolean {
  try {
    return entryHash({ ...row, seq }) === row.hash;
  } catch {
    return false;
  }
}

/** The sequence number an entry was written with, when it now sits at another one (renumbered). */
function originalSeq(row: AuditEntryRow): number | undefined {
  for (let d = 1; d <= MOVE_SEARCH; d++) {
    if (hashMatches(row, row.seq - d)) return row.seq - d;
    if (hashMatches(row, row.seq + d)) return row.seq + d;
  }
  return undefined;
}

export async function verifyAuditTrail(store: AuditStore, options: VerifyOptions): Promise<AuditVerification> {
  const maxProblems = options.maxProblems ?? 100;
  const problems: AuditProblem[] = [];
  const problem = (seq: number, kind: AuditProblemKind, message: string) => {
    if (problems.length < maxProblems) problems.push({ seq, kind, message });
  };
  // The chain's hash at each checkpointed sequence number, as recomputed here.
  const checkpoints = await store.checkpoints();
  const wanted = new Set(checkpoints.map((c) => c.seq));
  const hashAt = new Map<number, string>();

  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let entries = 0;
  let lastSeq = 0;
  for (let after: number | undefined; ; ) {
    const page = await store.entries({ afterSeq: after, limit: PAGE });
    for (const row of page) {
      entries++;
      lastSeq = row.seq;
      if (!Number.isSafeInteger(row.seq) || row.seq < expectedSeq) {
        problem(expectedSeq, 'unexpected', `an entry with sequence number ${row.seq} does not belong to the chain (inserted)`);
        continue;
      }
      if (row.seq > expectedSeq) {
        const last = row.seq - 1;
        problem(expectedSeq, 'missing', last === expectedSeq ? `entry ${expectedSeq} is missing (deleted)` : `entries ${expectedSeq}–${last} are missing (deleted)`);
      }
      const gap = row.seq > expectedSeq;
      if (!hashMatches(row, row.seq)) {
        // Looking for where it came from costs hashes: only while the report still takes problems.
        const original = problems.length < maxProblems ? originalSeq(row) : undefined;
        if (original === undefined) problem(row.seq, 'modified', `entry ${row.seq} does not match its hash (modified)`);
        else if (original < row.seq) problem(original, 'moved', `entry ${row.seq} was written as entry ${original}: entries were reordered, or one was inserted at ${original}`);
        else problem(row.seq, 'moved', `entry ${row.seq} was written as entry ${original}: entries were reordered, or deleted before it and the rest renumbered`);
      } else if (row.prevHash !== prevHash && !gap) {
        problem(row.seq, 'broken-link', `entry ${row.seq} does not follow entry ${row.seq - 1}: the chain is broken before it (an entry was inserted, removed or reordered)`);
      }
      if (wanted.has(row.seq)) hashAt.set(row.seq, row.hash);
      prevHash = row.hash;
      expectedSeq = row.seq + 1;
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.seq;
  }

  let lastVerifiedCheckpoint: number | undefined;
  for (const checkpoint of checkpoints) {
    if (checkpoint.keyId !== options.keyId) {
      problem(checkpoint.seq, 'checkpoint', `the checkpoint at entry ${checkpoint.seq} is signed by key ${checkpoint.keyId}, not by this server's key ${options.keyId}`);
    } else if (!checkpointSignatureValid(checkpoint, options.publicKeyBase64)) {
      problem(checkpoint.seq, 'checkpoint', `the checkpoint at entry ${checkpoint.seq} has an invalid signature`);
    } else if (!hashAt.has(checkpoint.seq)) {
      problem(checkpoint.seq, 'checkpoint', `entry ${checkpoint.seq}, signed by a checkpoint, is missing (the log was truncated or renumbered)`);
    } else if (hashAt.get(checkpoint.seq) !== checkpoint.hash) {
      problem(checkpoint.seq, 'checkpoint', `the chain at entry ${checkpoint.seq} differs from what the signed checkpoint recorded (entries up to it were rewritten)`);
    } else {
      lastVerifiedCheckpoint = checkpoint.seq;
    }
  }
  problems.sort((a, b) => a.seq - b.seq);
  return { ok: problems.length === 0, entries, lastSeq, checkpoints: checkpoints.length, lastVerifiedCheckpoint, problems };
}
