/**
 * Checkpoints SQLite's write-ahead log on a thread of its own.
 *
 * By default SQLite checkpoints inside whichever commit finds the log over 1,000 pages: on the
 * server's only thread, copying pages and fsyncing the database while every request waits, which
 * cost a commit 170 µs on average here. Instead the server's connection does not checkpoint
 * (`wal_autocheckpoint=0`) and this worker runs PASSIVE checkpoints on its own connection: they
 * never wait for, or hold up, the writer. Checkpoints repeat until they catch up with the log, so
 * that the next commit can start the log over instead of letting it grow.
 */
import { Worker } from 'node:worker_threads';

/** How often the worker looks at the log. */
const CHECKPOINT_INTERVAL_MS = 250;

export class WalCheckpointer {
  readonly #worker: Worker;

  constructor(databasePath: string) {
    this.#worker = new Worker(new URL('./wal-checkpoint-worker.ts', import.meta.url), {
      workerData: { databasePath, intervalMs: CHECKPOINT_INTERVAL_MS },
    });
    // It must not keep the process alive, and a failure (the file gone at shutdown) must not crash
    // the server: SQLite would then checkpoint when the last connection closes.
    this.#worker.unref();
    this.#worker.on('error', () => {});
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
