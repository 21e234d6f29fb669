/**
 * The hash-chained audit trail behind the AuditTrail interface. An append locks the chain's head
 * (so entries of concurrent transactions and processes line up one after another), links the new
 * entry to it and stores it in the caller's transaction; every CHECKPOINT_EVERY_ENTRIES entries, and
 * at the first append after CHECKPOINT_EVERY_MS, a checkpoint signs the head with the server key.
 */
import { canonicalJson } from '@caduceus/core';
import type { SigningKey } from '../../crypto/signing-key.ts';
import type { Clock } from '../../services/clock.ts';
import type { AuditEntryRow, Storage, Stores } from '../../storage/index.ts';
import type { AuditRecord, AuditTrail, ReadPath, ReadTarget } from './audit-trail.ts';
import { GENESIS_HASH, entryHash, signCheckpoint } from './chain.ts';

export const CHECKPOINT_EVERY_ENTRIES = 1000;
export const CHECKPOINT_EVERY_MS = 10 * 60_000;
/**
 * Reads of the same target by the same device are recorded at most once this long, counted from
 * each one's own last record: windows shared by everyone would bring every device's next read to
 * the database at once each minute (a thousand busy clients, a thousand writes in a second).
 */
export const READ_COALESCING_MS = 60_000;
/** Most read records one transaction writes (a bigger burst takes several, one after another). */
const MAX_READS_PER_GROUP = 500;
/** Bound on the coalescing map (past it, records older than the window are dropped). */
const MAX_COALESCED_READS = 100_000;

/** What the current request says about who is acting (see http/request-context). */
export interface RequestFacts {
  requestId: string;
  address: string;
  userAgent: string | null;
  userId: string | null;
  deviceId: string | null;
}

type PendingEntry = Omit<AuditEntryRow, 'seq' | 'prevHash' | 'hash'>;

/** Read records written together in one transaction. */
interface ReadGroup {
  entries: PendingEntry[];
  write: Promise<void>;
}

export class HashChainedAuditTrail implements AuditTrail {
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #key: SigningKey;
  readonly #request: () => RequestFacts | undefined;
  /** When this process last saw a checkpoint written (undefined: not looked yet). */
  #lastCheckpointTs: number | undefined;
  /** Per outcome, device and target: when its read was last recorded, and that write (and whether it is done). */
  readonly #reads = new Map<string, { at: number; write: Promise<void>; written: boolean }>();
  /** Read records waiting for their group's transaction to start (see `#writeReads`). */
  #nextReads: ReadGroup | undefined;
  /** Settles when the group being written is done: the next one starts after it. */
  #readsWritten: Promise<void> = Promise.resolve();

  constructor(storage: Storage, clock: Clock, key: SigningKey, request: () => RequestFacts | undefined) {
    this.#storage = storage;
    this.#clock = clock;
    this.#key = key;
    this.#request = request;
  }

  async record(entry: AuditRecord, stores?: Stores): Promise<void> {
    const pending = this.#pending(entry);
    if (stores) await this.#append(stores, pending);
    else await this.#storage.transaction((own) => this.#append(own, pending));
  }

  transaction<T>(work: (stores: Stores) => Promise<T>): Promise<T> {
    return this.#storage.transaction(async (stores) => {
      await stores.audit.lock();
      return work(stores);
    });
  }

  recordReads(via: ReadPath, targets: ReadonlyArray<ReadTarget>, outcome: 'success' | 'refused' = 'success'): Promise<void> | undefined {
    if (targets.length === 0) return undefined;
    const request = this.#request();
    const now = this.#clock.now();
    if (this.#reads.size >= MAX_COALESCED_READS) this.#forgetReadsBefore(now - READ_COALESCING_MS);
    const reader = request ? `${outcome}\u0000${request.userId}\u0000${request.deviceId}` : undefined;
    // Every /sync answer with events comes here: the usual case (all on record this minute) allocates nothing.
    let waits: Promise<void>[] | undefined;
    let fresh: Array<{ key: string | undefined; target: ReadTarget }> | undefined;
    for (const target of targets) {
      const key = reader && `${reader}\u0000${'roomId' in target ? `r${target.roomId}` : `m${target.mediaId}`}`;
      const earlier = key ? this.#reads.get(key) : undefined;
      if (earlier && earlier.at <= now && now - earlier.at < READ_COALESCING_MS) {
        // A read still being recorded: wait for that write rather than skip it, so no answer goes
        // out before its read is on record.
        if (!earlier.written) (waits ??= []).push(earlier.write);
      } else (fresh ??= []).push({ key, target });
    }
    if (fresh) {
      const entries = fresh.map(({ target }) => this.#pending({ action: 'roomId' in target ? 'event.read' : 'media.read', outcome, target, details: { via } }));
      const write = this.#writeReads(entries);
      const records = fresh.flatMap(({ key }) => (key ? [{ key, record: { at: now, write, written: false } }] : []));
      for (const { key, record } of records) this.#reads.set(key, record);
      write.then(
        () => {
          for (const { record } of records) record.written = true;
        },
        // A failed write is forgotten, so the next read tries again.
        () => {
          for (const { key, record } of records) if (this.#reads.get(key) === record) this.#reads.delete(key);
        },
      );
      (waits ??= []).push(write);
    }
    if (!waits) return undefined;
    return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => undefined);
  }

  /**
   * Read records of many requests go in one transaction: the ones recorded while the previous group
   * is being written (or in the same turn of the event loop) form the next group. Each is a chain
   * append under the chain's lock, so a thousand devices whose records fall due together (clients
   * that all reconnected at once) would otherwise be a thousand transactions one after another,
   * every other audited write waiting behind them.
   */
  #writeReads(entries: readonly PendingEntry[]): Promise<void> {
    let group = this.#nextReads;
    if (!group || group.entries.length >= MAX_READS_PER_GROUP) {
      const forming: ReadGroup = { entries: [], write: Promise.resolve() };
      forming.write = this.#readsWritten
        .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
        .then(() => {
          // From here the group takes no more entries: later ones form the next.
          if (this.#nextReads === forming) this.#nextReads = undefined;
          return this.#storage.transaction(async (stores) => {
            for (const entry of forming.entries) await this.#append(stores, entry);
          });
        });
      this.#readsWritten = forming.write.catch(() => {});
      this.#nextReads = group = forming;
    }
    group.entries.push(...entries);
    return group.write;
  }

  /** Drops coalescing records from before `cutoff` (and all of them if that is not enough). */
  #forgetReadsBefore(cutoff: number) {
    for (const [key, read] of this.#reads) if (read.at < cutoff) this.#reads.delete(key);
    if (this.#reads.size >= MAX_COALESCED_READS) this.#reads.clear();
  }

  /** The entry's own columns: actor fields not given come from the current request. */
  #pending(entry: AuditRecord): PendingEntry {
    const request = this.#request();
    const actor = entry.actor ?? {};
    return {
      ts: this.#clock.now(),
      actorUserId: actor.userId !== undefined ? actor.userId : (request?.userId ?? null),
      actorDeviceId: actor.deviceId !== undefined ? actor.deviceId : (request?.deviceId ?? null),
      actorAddress: actor.address !== undefined ? actor.address : (request?.address ?? null),
      actorUserAgent: actor.userAgent !== undefined ? actor.userAgent : (request?.userAgent ?? null),
      action: entry.action,
      outcome: entry.outcome,
      target: canonicalJson(entry.target ?? {}),
      requestId: request?.requestId ?? null,
      details: canonicalJson(entry.details ?? {}),
    };
  }

  async #append(stores: Stores, pending: PendingEntry): Promise<void> {
    await stores.audit.lock();
    const head = await stores.audit.head();
    const partial = { ...pending, seq: (head?.seq ?? 0) + 1, prevHash: head?.hash ?? GENESIS_HASH };
    const row: AuditEntryRow = { ...partial, hash: entryHash(partial) };
    await stores.audit.append(row);
    await this.#maybeCheckpoint(stores, row);
  }

  async #maybeCheckpoint(stores: Stores, row: AuditEntryRow): Promise<void> {
    this.#lastCheckpointTs ??= (await stores.audit.latestCheckpoint())?.ts ?? Number.NEGATIVE_INFINITY;
    if (row.seq % CHECKPOINT_EVERY_ENTRIES !== 0 && row.ts - this.#lastCheckpointTs < CHECKPOINT_EVERY_MS) return;
    await stores.audit.addCheckpoint(signCheckpoint({ seq: row.seq, ts: row.ts, hash: row.hash, keyId: this.#key.keyId }, this.#key.privateKey));
    // If the transaction rolls back, the next checkpoint merely comes one interval later.
    this.#lastCheckpointTs = row.ts;
  }
}
