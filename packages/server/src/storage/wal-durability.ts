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
 */
import { open, type FileHandle } from 'node:fs/promises';

export class WalDurability {
  readonly #walPath: string;
  #file: FileHandle | undefined;
  /** Commits counted so far, and how many of them are known to be on disk. */
  #commits = 0;
  #durable = 0;
  #flushing: Promise<void> | undefined;

  constructor(databasePath: string) {
    this.#walPath = `${databasePath}-wal`;
  }

  /** Called by the connection after each statement that ended a write outside a transaction. */
  noteCommit(): void {
    this.#commits++;
  }

  /** Whether a commit has not reached the disk yet. */
  get pending(): boolean {
    return this.#durable < this.#commits;
  }

  /** Resolves once every commit made so far is on disk; rejects if the disk refused. */
  async flush(): Promise<void> {
    const target = this.#commits;
    while (this.#durable < target) {
      // A flush already running may have started before our commit: wait for it, then start the next.
      this.#flushing ??= this.#flushOnce().finally(() => (this.#flushing = undefined));
      await this.#flushing;
    }
  }

  async #flushOnce(): Promise<void> {
    const covers = this.#commits;
    this.#file ??= await open(this.#walPath, 'r+');
    await this.#file.datasync();
    if (covers > this.#durable) this.#durable = covers;
  }

  /** After the database connection has closed. */
  async close(): Promise<void> {
    await this.#file?.close();
    this.#file = undefined;
  }
}
