/**
 * Shares changes between the server's worker threads (CADUCEUS_WORKERS > 1 on SQLite): each thread
 * serves HTTP on the same port with its own connection to the database file, and tells the others of
 * every commit over a BroadcastChannel — with the committed events themselves, so that their
 * recent-events windows stay full and a long-poll woken by another thread's write is answered from
 * memory, as it would be by the writer.
 *
 * The threads also share the committed stream position in memory. SQLite lets one writer commit at
 * a time and positions are taken inside the write transaction, so commits end in position order and
 * the highest position published is gap-free: /sync may serve up to it without asking the database.
 * A thread publishes only after its commit is durable, so no thread hands out an event that a power
 * loss could take back.
 */
import { BroadcastChannel, threadId } from 'node:worker_threads';
import { Confirmations, LocalNotifier, type StreamChange } from './notifier.ts';
import type { CommittedEvents } from './sync/recent-events.ts';
import { SHARED_DURABILITY_BYTES } from '../storage/wal-durability.ts';

/** What one server needs to join its threads' channel (passed to each worker thread). */
export interface ThreadChannel {
  /** The BroadcastChannel's name, unique to this server. */
  name: string;
  /** Holds the highest committed (and durable) stream position, as a BigInt64. */
  committed: SharedArrayBuffer;
  /** The threads' write lock on the SQLite file (storage/thread-write-lock.ts). */
  writeLock: SharedArrayBuffer;
  /** Their commit counts, so none answers with a commit that is not on disk yet (storage/wal-durability.ts). */
  durability: SharedArrayBuffer;
}

export function newThreadChannel(): ThreadChannel {
  return {
    name: `caduceus-threads-${process.pid}-${Math.random().toString(36).slice(2)}`,
    committed: new SharedArrayBuffer(8),
    writeLock: new SharedArrayBuffer(4),
    durability: new SharedArrayBuffer(SHARED_DURABILITY_BYTES),
  };
}

type Message =
  | { kind: 'hello'; from: number; reply: boolean }
  | { kind: 'change'; from: number; change: StreamChange; events: CommittedEvents | undefined }
  | { kind: 'heard'; from: number; to: number; position: number };

/** How long `settled` waits for the other threads to confirm (a thread that died must not hold anyone up for good). */
const CONFIRM_PATIENCE_MS = 1_000;

export class ThreadNotifier extends LocalNotifier {
  readonly #channel: BroadcastChannel;
  readonly #committed: BigInt64Array;
  /** The other threads that have said hello (only they are waited for). */
  readonly #peers = new Set<number>();
  /** The positions this thread published, until every other thread has confirmed hearing them. */
  readonly #unconfirmed = new Confirmations<number>(CONFIRM_PATIENCE_MS);
  #closed = false;

  constructor(channel: ThreadChannel) {
    super();
    this.#committed = new BigInt64Array(channel.committed);
    this.#channel = new BroadcastChannel(channel.name);
    // The channel must not keep a thread alive that has nothing else to do.
    (this.#channel as unknown as { unref?: () => void }).unref?.();
    this.#channel.onmessage = (event) => this.#hear((event as { data: Message }).data);
  }

  override get soleWriter() {
    return false;
  }

  /** Every thread's commits are published here, after they are durable, so this is the committed position. */
  override get committedUpTo(): number {
    return Number(Atomics.load(this.#committed, 0));
  }

  override start(current: number): void {
    this.#raiseCommitted(current);
    super.start(current);
    this.#channel.postMessage({ kind: 'hello', from: threadId, reply: true } satisfies Message);
  }

  override publish(change: StreamChange, events?: CommittedEvents): void {
    this.#raiseCommitted(change.position);
    this.deliver(change);
    this.#unconfirmed.expect(change.position, this.#peers);
    this.#channel.postMessage({ kind: 'change', from: threadId, change, events } satisfies Message);
  }

  override async settled(): Promise<void> {
    if (!this.#closed) await this.#unconfirmed.settled();
  }

  #hear(message: Message) {
    if (this.#closed) return;
    switch (message.kind) {
      case 'hello':
        if (!this.#peers.has(message.from)) {
          this.#peers.add(message.from);
          if (message.reply) this.#channel.postMessage({ kind: 'hello', from: threadId, reply: false } satisfies Message);
        }
        return;
      case 'change': {
        this.#peers.add(message.from);
        const { change, events } = message;
        // Changes from before this thread started are covered by its floor.
        if (change.position > this.floor) {
          if (events) this.recent.addCommitted(change.first, change.position, events);
          this.deliver(change);
        }
        this.#channel.postMessage({ kind: 'heard', from: threadId, to: message.from, position: change.position } satisfies Message);
        return;
      }
      case 'heard':
        if (message.to === threadId) this.#unconfirmed.confirm(message.position, message.from);
        return;
    }
  }

  #raiseCommitted(position: number) {
    const target = BigInt(position);
    for (let seen = Atomics.load(this.#committed, 0); seen < target; seen = Atomics.load(this.#committed, 0)) {
      if (Atomics.compareExchange(this.#committed, 0, seen, target) === seen) return;
    }
  }

  override async close() {
    this.#closed = true;
    this.#unconfirmed.forget();
    this.#channel.close();
    await super.close();
  }
}
