/**
 * PostgreSQL batch transactions insert the messages a batch appends together, in one statement,
 * instead of one round trip each inside the serialised write (where every round trip also waits
 * for an event loop busy with /sync answers; docs/benchmarks.md, pass eight).
 *
 * What is deferred: events without a state key (messages, redactions), with their transaction ids.
 * State events are inserted at once, since current state joins them.
 * Nothing can read a deferred event before it is written:
 *  - `appendBasis`, the one read each send makes, answers from the database and the pending events
 *    (the room's newest event, a transaction id used earlier in the batch);
 *  - any other call on the event or retention store (the only stores that read events) writes the
 *    pending events first;
 *  - the batch writes them before each savepoint, and with its commit (`takeWrites`); a job rolled
 *    back to its savepoint takes its own pending events with it (`discard`).
 * A failed write (a unique violation) fails the batch, which then runs each job alone.
 *
 * The bases of the batch's sends are read together too, in the batch's opening round trip
 * (`rememberBases`). Each answers its send's `appendBasis`, completed with the pending events like a
 * fresh read. Such an answer stays right only while nothing else is written: any write (a state
 * event, the pending events themselves) or rollback drops the answers not used yet, and those sends
 * read the database again.
 */
import type { CompiledQuery } from 'kysely';
import type { AppendBasis, AppendIntent, EventStore, EventTxn, PendingEvent } from './events.ts';
import type { RetentionStore } from './retention.ts';

export class DeferredEvents {
  readonly #store: EventStore;
  #pending: PendingEvent[] = [];
  /** Bases read ahead for the batch's sends, by room and transaction; none once anything was written. */
  #readAhead = new Map<string, AppendBasis>();

  constructor(store: EventStore) {
    this.#store = store;
  }

  /** Keeps the bases of the appends the batch is about to make, read together when it opened. */
  rememberBases(intents: ReadonlyArray<AppendIntent>, bases: readonly AppendBasis[]): void {
    intents.forEach((intent, i) => this.#readAhead.set(intentKey(intent.roomId, intent.txn), bases[i]!));
  }

  /** The pending events as statements for the caller to run (with the commit); they are no longer pending. */
  takeWrites(): CompiledQuery[] {
    return this.#store.insertManyQueries(this.#take());
  }

  /** Writes the pending events (one statement), if any. */
  async flush(): Promise<void> {
    const rows = this.#take();
    if (rows.length > 0) await this.#store.insertMany(rows);
  }

  /** Forgets the pending events: their job was rolled back. */
  discard(): void {
    this.#take();
  }

  /** The pending events, no longer pending; what was read ahead is stale from here on (they are written or gone). */
  #take(): PendingEvent[] {
    this.#readAhead.clear();
    const rows = this.#pending;
    this.#pending = [];
    return rows;
  }

  /** The event store of the batch: messages wait in memory, every other call writes them first. */
  eventStore(): EventStore {
    const store = this.#store;
    return this.#flushingFirst(store, {
      insert: async (row, txn) => {
        if (row.stateKey !== null) {
          await this.flush();
          return store.insert(row, txn);
        }
        this.#pending.push({ row, txn });
      },
      appendBasis: async (roomId, txn) => {
        const key = intentKey(roomId, txn);
        const readAhead = this.#readAhead.get(key);
        if (readAhead) this.#readAhead.delete(key);
        return this.#withPending(roomId, txn, readAhead ?? (await store.appendBasis(roomId, txn)));
      },
    });
  }

  /** The retention store of the batch: it reads and rewrites events, so it sees the pending ones written. */
  retentionStore(store: RetentionStore): RetentionStore {
    return this.#flushingFirst(store, {});
  }

  /** `store` with `overrides`, and every other method writing the pending events before it runs. */
  #flushingFirst<S extends object>(store: S, overrides: Partial<S>): S {
    const wrapped = new Map<PropertyKey, unknown>(Object.entries(overrides));
    return new Proxy(store, {
      get: (target, prop) => {
        if (wrapped.has(prop)) return wrapped.get(prop);
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        const flushing = async (...args: unknown[]) => {
          await this.flush();
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
        wrapped.set(prop, flushing);
        return flushing;
      },
    });
  }

  /** The basis as the database gives it, completed with the events this batch has not written yet. */
  #withPending(roomId: string, txn: EventTxn | undefined, basis: AppendBasis): AppendBasis {
    let tip = basis.tip;
    let earlierEventId = basis.earlierEventId;
    for (const { row, txn: made } of this.#pending) {
      // Pending events are in position order, and newer than anything written.
      if (row.roomId === roomId) tip = { eventId: row.eventId, depth: row.depth, streamOrdering: row.streamOrdering };
      if (earlierEventId === undefined && txn && made && made.userId === txn.userId && made.deviceId === txn.deviceId && made.txnId === txn.txnId) earlierEventId = row.eventId;
    }
    return { ...basis, tip, earlierEventId };
  }
}

const intentKey = (roomId: string, txn: EventTxn | undefined) => (txn ? `${roomId}\u0000${txn.userId}\u0000${txn.deviceId}\u0000${txn.txnId}` : roomId);
