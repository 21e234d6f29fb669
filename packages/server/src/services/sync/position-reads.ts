/**
 * The database's stream position for /sync requests that cannot take it from memory (PostgreSQL,
 * where other processes commit too), read once for many requests: a request that arrives while a
 * read is under way waits for the next read, which starts when that one ends. A read that started
 * before the request arrived could miss a write the client saw acknowledged just before asking;
 * one that starts after cannot. Under load this is one read per round trip instead of one per
 * request; alone, a request still gets its own read at once.
 */
export class PositionReads {
  readonly #read: () => Promise<number>;
  /** The read under way, if any. */
  #current: Promise<number> | undefined;
  /** The read that starts once the current one ends, shared by everyone who arrived meanwhile. */
  #queued: Promise<number> | undefined;

  constructor(read: () => Promise<number>) {
    this.#read = read;
  }

  /** The committed position as of some moment after this call. */
  current(): Promise<number> {
    if (this.#current === undefined) return this.#start();
    this.#queued ??= this.#current.then(
      () => this.#startQueued(),
      () => this.#startQueued(),
    );
    return this.#queued;
  }

  #startQueued(): Promise<number> {
    this.#queued = undefined;
    return this.#start();
  }

  #start(): Promise<number> {
    const read = this.#read();
    this.#current = read;
    const done = () => {
      if (this.#current === read) this.#current = undefined;
    };
    read.then(done, done);
    return read;
  }
}
