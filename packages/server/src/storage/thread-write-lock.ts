/**
 * The write lock the threads of one server (CADUCEUS_WORKERS > 1) take before SQLite's own. SQLite
 * lets one connection write at a time; a connection that finds the database locked sleeps in its
 * busy handler for 1, 2, 5, 10… ms, holding up its thread's event loop all that while. With this lock
 * the next writer is woken the moment the last one commits (Atomics.notify), and a stream writer
 * waits for its turn without blocking its thread at all (`free`).
 */
import { threadId } from 'node:worker_threads';

/** Longer than this and the lock is left to SQLite's busy handling (busy_timeout). */
const PATIENCE_MS = 5_000;

export class ThreadWriteLock {
  readonly #cell: Int32Array;
  /** This thread's mark in the cell (0 means free). */
  readonly #me = threadId + 1;

  /** `buffer`: 4 bytes shared by every thread of the server. */
  constructor(buffer: SharedArrayBuffer) {
    this.#cell = new Int32Array(buffer, 0, 1);
  }

  /** Takes the lock, blocking until the thread holding it lets go (false if that takes too long). */
  acquire(): boolean {
    const deadline = performance.now() + PATIENCE_MS;
    for (;;) {
      const holder = Atomics.compareExchange(this.#cell, 0, 0, this.#me);
      if (holder === 0 || holder === this.#me) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.#cell, 0, holder, left);
    }
  }

  /** Lets go of the lock if this thread holds it, and wakes a thread waiting for it. */
  release(): void {
    if (Atomics.compareExchange(this.#cell, 0, this.#me, 0) === this.#me) Atomics.notify(this.#cell, 0, 1);
  }

  /** Resolves once no other thread holds the lock, without taking it or blocking this thread. */
  async free(): Promise<void> {
    const deadline = performance.now() + PATIENCE_MS;
    for (;;) {
      const holder = Atomics.load(this.#cell, 0);
      if (holder === 0 || holder === this.#me) return;
      const left = deadline - performance.now();
      if (left <= 0) return;
      const waited = Atomics.waitAsync(this.#cell, 0, holder, left);
      if (waited.async) await waited.value;
    }
  }
}
