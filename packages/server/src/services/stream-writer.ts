/**
 * Every write that /sync must see goes through here. Concurrent writes are batched into one
 * transaction (one commit, one fsync, for many requests), each job isolated by a savepoint so one
 * refused job does not sink the others. A job's promise resolves only after the commit: an
 * acknowledged write survives a crash. Then the notifier wakes whoever the writes concern.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AppendIntent, EventTxn, NewEventRow, Storage, Stores } from '../storage/index.ts';
import type { ChangeKind, Notifier } from './notifier.ts';
import type { CommittedEvents } from './sync/recent-events.ts';

export interface WriteContext {
  stores: Stores;
  /** Takes the next stream position for a row this job writes. */
  nextPosition(): Promise<number>;
  /** Names the rooms whose members, and the users, whose /sync should wake when the batch commits. */
  touch(rooms: readonly string[], users?: readonly string[]): void;
  /** Records what changed (events, typing or receipts of rooms; account data or memberships of users), so /sync looks only there. */
  mark(kind: ChangeKind, keys: readonly string[]): void;
}

export interface WriteOptions {
  /**
   * The job refuses (throws a Matrix error) only before its first write, so it needs no savepoint
   * of its own inside a batch. Only for jobs that really do all their checks first.
   */
  checksBeforeWriting?: boolean;
  /** The job appends one event to this room (a send): the batch reads the sends' bases together. */
  appends?: AppendIntent | undefined;
}

type Job = {
  work: (ctx: WriteContext) => Promise<unknown>;
  /** The caller's async context (its request, for the audit trail's actor): the job runs inside it, not the batch's. */
  inCallerContext: <R>(fn: () => R) => R;
  options: WriteOptions;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
};

/** Most jobs one transaction takes; bounds the time other readers wait on SQLite. */
const MAX_BATCH = 64;

export class StreamWriter {
  readonly #storage: Storage;
  readonly #notifier: Notifier;
  readonly #queue: Job[] = [];
  #draining = false;

  constructor(storage: Storage, notifier: Notifier) {
    this.#storage = storage;
    this.#notifier = notifier;
  }

  /**
   * Runs `work` inside the next batch transaction. Jobs must not depend on each other's results
   * and must hold no state outside the transaction that a rollback would make stale.
   */
  write<T>(work: (ctx: WriteContext) => Promise<T>, options: WriteOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, inCallerContext: AsyncLocalStorage.snapshot(), options, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#draining) {
        this.#draining = true;
        // Start after the event loop has taken in every request already waiting on a socket: on
        // SQLite a whole request, commit included, otherwise runs without yielding, so concurrent
        // sends would each pay their own fsync. Deferred, they share one batch and one commit.
        setImmediate(() => void this.#drain());
      }
    });
  }

  async #drain() {
    try {
      for (let first = true; this.#queue.length > 0; first = false) {
        // Between batches, let the long-polls the last commit woke run first: on SQLite a batch holds
        // the only connection, and readers queued behind it all wake (and re-queue) at each release.
        // Meanwhile more jobs join the next batch.
        if (!first) await new Promise((resolve) => setImmediate(resolve));
        // With worker threads, wait while another one writes before taking the batch (its begin would
        // wait anyway): the jobs that come meanwhile join this batch.
        await this.#storage.writeTurn();
        const batch = this.#queue.splice(0, MAX_BATCH);
        try {
          await this.#runBatch(batch);
        } catch {
          // The batch transaction itself failed (not a single job): run each job alone, so only
          // the one at fault fails.
          for (const job of batch) await this.#runBatch([job]).catch((err) => job.reject(err));
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  async #runBatch(batch: Job[]) {
    const rooms = new Set<string>();
    const users = new Set<string>();
    const marks = new Map<ChangeKind, Set<string>>();
    let first = 0;
    let last = 0;
    const committed: CommittedEvents = { rows: [], txns: [], rewrote: false };
    let jobEvents: CommittedEvents = committed;
    const outcomes = await this.#storage.batchTransaction(async (batchStores, isolate) => {
      // The events the jobs store are noted on their way to the database, for the recent-events window.
      const stores = capturing(batchStores, () => jobEvents);
      // Positions are handed out from memory while the stream is locked, and written back once.
      const start = await stores.stream.lock();
      // Then the audit chain, before any job writes a row: the order every audited transaction keeps.
      await stores.audit.lock();
      let next = start;
      const results: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
      for (const job of batch) {
        const jobStart = next;
        // Positions and changes count only for jobs that commit: a rolled-back job's positions are
        // rolled back with it, and announcing them would run ahead of the database.
        let jobFirst = 0;
        let jobLast = 0;
        const jobRooms: string[] = [];
        const jobUsers: string[] = [];
        const jobMarks: Array<[ChangeKind, readonly string[]]> = [];
        jobEvents = { rows: [], txns: [], rewrote: false };
        const ctx: WriteContext = {
          stores,
          nextPosition: async () => {
            jobLast = ++next;
            if (jobFirst === 0) jobFirst = jobLast;
            return jobLast;
          },
          touch: (r, u = []) => {
            jobRooms.push(...r);
            jobUsers.push(...u);
          },
          mark: (kind, keys) => jobMarks.push([kind, keys]),
        };
        try {
          const run = () => job.inCallerContext(() => job.work(ctx));
          results.push({ ok: true, value: await (job.options.checksBeforeWriting ? run() : isolate(run)) });
          if (jobFirst !== 0 && first === 0) first = jobFirst;
          last = Math.max(last, jobLast);
          for (const room of jobRooms) rooms.add(room);
          for (const user of jobUsers) users.add(user);
          for (const [kind, keys] of jobMarks) {
            let set = marks.get(kind);
            if (!set) marks.set(kind, (set = new Set()));
            for (const key of keys) set.add(key);
          }
          committed.rows.push(...jobEvents.rows);
          committed.txns.push(...jobEvents.txns);
          committed.rewrote ||= jobEvents.rewrote;
        } catch (error) {
          if (!isExpected(error)) throw error;
          // Its rows were rolled back with its savepoint (or never written): so are its positions.
          next = jobStart;
          results.push({ ok: false, error });
        }
      }
      if (next > start) await stores.stream.advanceTo(next);
      // A lone job that failed: roll its transaction back rather than commit nothing-but-a-lock.
      if (batch.length === 1 && results[0]?.ok === false) throw new SingleJobFailed(results[0].error);
      return results;
    }, batch.length, appendsOf(batch)).catch((err: unknown) => {
      if (err instanceof SingleJobFailed) return [{ ok: false as const, error: err.error }];
      throw err;
    });
    const acknowledge = () => outcomes.forEach((outcome, i) => (outcome.ok ? batch[i]!.resolve(outcome.value) : batch[i]!.reject(outcome.error)));
    // Sessions ended or restarted: other processes must stop accepting their tokens before the
    // ending is acknowledged (a logout answered by one process, then accepted by the next).
    const afterNotice = last > 0 && marks.has('sessions') && !this.#notifier.soleWriter;
    if (!afterNotice) acknowledge();
    if (last > 0) {
      try {
        this.#notifier.recent.addCommitted(first, last, committed);
        this.#notifier.publish(
          {
            first,
            position: last,
            rooms: [...rooms],
            users: [...users],
            marks: Object.fromEntries([...marks].map(([kind, keys]) => [kind, [...keys]])),
          },
          committed,
        );
      } finally {
        if (afterNotice) void this.#notifier.settled().then(acknowledge);
      }
    }
  }
}

function appendsOf(batch: readonly Job[]): AppendIntent[] {
  const appends: AppendIntent[] = [];
  for (const job of batch) if (job.options.appends) appends.push(job.options.appends);
  return appends;
}

/** Store calls that change events already stored (redaction, retention): the window cannot follow them. */
const REWRITES = new Set(['replaceRedacted', 'deleteEvents', 'pruneEvent', 'shortenRoomExpiry', 'setUnsigned']);

/** The batch's stores, with event inserts, transaction ids and rewrites of stored events noted in `sink()`. */
function capturing(stores: Stores, sink: () => CommittedEvents): Stores {
  const watch = <T extends object>(store: T): T =>
    new Proxy(store, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        const method = value as (...args: unknown[]) => Promise<unknown>;
        if (prop === 'insert') {
          return async (row: NewEventRow, txn?: EventTxn & { now: number }) => {
            await method.call(target, row, txn);
            sink().rows.push(row);
            if (txn) sink().txns.push({ userId: txn.userId, deviceId: txn.deviceId, txnId: txn.txnId, eventId: row.eventId });
          };
        }
        if (typeof prop === 'string' && REWRITES.has(prop)) {
          return (...args: unknown[]) => {
            sink().rewrote = true;
            return method.apply(target, args);
          };
        }
        return method.bind(target);
      },
    });
  return { ...stores, events: watch(stores.events), retention: watch(stores.retention) };
}

class SingleJobFailed extends Error {
  readonly error: unknown;
  constructor(error: unknown) {
    super('the only job of the batch failed');
    this.error = error;
  }
}

/** Refusals a job raises on purpose (Matrix errors); anything else aborts the batch. */
function isExpected(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'errcode' in error;
}
