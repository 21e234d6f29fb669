/**
 * Durable SQLite commits without stalling the event loop.
 *
 * With `synchronous=FULL`, every commit fsyncs the write-ahead log on the main thread: 0.3–1 ms
 * here, during which no other request moves (node:sqlite is synchronous). Instead the connection
 * runs `synchronous=NORMAL`: a commit only writes the log into the operating system's cache (a
 * killed process loses nothing). The log is then fsynced here, on libuv's thread pool, before
 * anything acknowledges the write: the stream writer waits for it before answering sends and
 * waking long-polls, and every HTTP answer waits for it while commits are unsynced.
 *
 * One fsync covers every commit made before it started (group commit). SQLite itself still syncs
 * the log before each checkpoint copies it into the database, so nothing synced here can be undone.
 * The log file is the same inode for as long as the server's connection is open (SQLite deletes it
 * only when the last connection closes), so one file descriptor serves the whole run.
 *
 * With worker threads each has its own connection and its own WalDurability, but the counts are
 * shared: a thread must not answer with another thread's commit before that is on disk, and an
 * fsync by any of them covers every commit counted before it started (it is one file).
 */
import { open, type FileHandle } from 'node:fs/promises';

/** Bytes of the counts worker threads share (see `WalDurability`'s `shared`). */
export const SHARED_DURABILITY_BYTES = 16;

const COMMITS = 0;
const DURABLE = 1;

export class WalDurability {
  readonly #walPath: string;
  #file: FileHandle | undefined;
  /** Commits counted so far, and how many of them are known to be on disk (this thread's, or all threads'). */
  readonly #counts: BigInt64Array;
  #flushing: Promise<void> | undefined;

  /** `shared`: SHARED_DURABILITY_BYTES shared by the threads of one server, so they count together. */
  constructor(databasePath: string, shared?: SharedArrayBuffer) {
    this.#walPath = `${databasePath}-wal`;
    this.#counts = new BigInt64Array(shared ?? new ArrayBuffer(SHARED_DURABILITY_BYTES), 0, 2);
  }

  /** Called by the connection after each statement that ended a write outside a transaction. */
  noteCommit(): void {
    Atomics.add(this.#counts, COMMITS, 1n);
  }

  /** Whether a commit has not reached the disk yet. */
  get pending(): boolean {
    return Atomics.load(this.#counts, DURABLE) < Atomics.load(this.#counts, COMMITS);
  }

  /** Resolves once every commit made so far is on disk; rejects if the disk refused. */
  async flush(): Promise<void> {
    const target = Atomics.load(this.#counts, COMMITS);
    while (Atomics.load(this.#counts, DURABLE) < target) {
      // A flush already running may have started before our commit: wait for it, then start the next.
      this.#flushing ??= this.#flushOnce().finally(() => (this.#flushing = undefined));
      await this.#flushing;
    }
  }

  async #flushOnce(): Promise<void> {
    const covers = Atomics.load(this.#counts, COMMITS);
    this.#file ??= await open(this.#walPath, 'r+');
    await this.#file.datasync();
    // Raise the durable count to what this fsync covered (another thread's may have covered more).
    for (let seen = Atomics.load(this.#counts, DURABLE); seen < covers; seen = Atomics.load(this.#counts, DURABLE)) {
      if (Atomics.compareExchange(this.#counts, DURABLE, seen, covers) === seen) break;
    }
  }

  /** After the database connection has closed. */
  async close(): Promise<void> {
    await this.#file?.close();
    this.#file = undefined;
  }
}
