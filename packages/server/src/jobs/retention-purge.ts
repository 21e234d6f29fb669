/**
 * Runs the retention purge every `retention_purge_interval` (real time: the purge itself reads the
 * services' clock). One pass at a time per process; across processes sharing PostgreSQL, an advisory
 * lock lets only one of them purge (the others skip that round). A failed pass is reported and the
 * next one tries again.
 */
import type { PurgeReport } from '../compliance/retention/index.ts';

export interface RetentionPurgeJobOptions {
  intervalMs: number | null;
  runOnce: () => Promise<PurgeReport>;
  /** Told about a failed pass (message only: never content). */
  onError: (err: unknown) => void;
}

export class RetentionPurgeJob {
  readonly #options: RetentionPurgeJobOptions;
  #timer: NodeJS.Timeout | undefined;
  #current: Promise<unknown> | undefined;

  constructor(options: RetentionPurgeJobOptions) {
    this.#options = options;
  }

  start(): void {
    const { intervalMs } = this.#options;
    if (intervalMs === null || this.#timer) return;
    this.#timer = setInterval(() => this.#tick(), intervalMs);
    // The job never keeps the process alive on its own.
    this.#timer.unref();
  }

  #tick() {
    if (this.#current) return;
    this.#current = this.#options
      .runOnce()
      .catch((err: unknown) => this.#options.onError(err))
      .finally(() => (this.#current = undefined));
  }

  /** Stops the timer and waits for a pass in progress to finish (before the database closes). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#current;
  }
}
