/**
 * Wakes /sync long-polls when something for them is committed — no polling of the database per
 * waiter. A waiter says which user it serves and which rooms it watches; a change names the rooms
 * and users it concerns. In-process by default; on PostgreSQL, changes also travel through
 * LISTEN/NOTIFY so that a long-poll held by one server process wakes for a write made by another.
 */
import pg from 'pg';

export interface StreamChange {
  /** The stream position the change committed at. */
  position: number;
  rooms: readonly string[];
  users: readonly string[];
}

export interface WaitInterest {
  userId: string;
  rooms: ReadonlySet<string>;
  /** The position the waiter has already seen; any newer change wakes it at once. */
  since: number;
}

export interface Notifier {
  /** Called after a commit: wakes local waiters (and, across processes, the others'). */
  publish(change: StreamChange): void;
  /** Resolves when a change concerns the interest, the timeout passes, or `signal` aborts. */
  wait(interest: WaitInterest, timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** How many long-polls are waiting in this process. */
  readonly waiting: number;
  close(): Promise<void>;
}

interface Waiter {
  interest: WaitInterest;
  wake: () => void;
}

export class LocalNotifier implements Notifier {
  readonly #byUser = new Map<string, Set<Waiter>>();
  readonly #byRoom = new Map<string, Set<Waiter>>();
  /** The newest position this process has heard of; a waiter behind it is woken at once. */
  #latest = 0;
  #count = 0;

  get waiting() {
    return this.#count;
  }

  publish(change: StreamChange): void {
    this.deliver(change);
  }

  /** Wakes the local waiters a change concerns. */
  protected deliver(change: StreamChange | 'everyone'): void {
    if (change === 'everyone') {
      for (const set of this.#byUser.values()) for (const waiter of [...set]) waiter.wake();
      return;
    }
    if (change.position > this.#latest) this.#latest = change.position;
    const woken = new Set<Waiter>();
    for (const user of change.users) for (const waiter of this.#byUser.get(user) ?? []) woken.add(waiter);
    for (const room of change.rooms) for (const waiter of this.#byRoom.get(room) ?? []) woken.add(waiter);
    for (const waiter of woken) waiter.wake();
  }

  wait(interest: WaitInterest, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.#latest > interest.since || timeoutMs <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter: Waiter = { interest, wake: () => finish() };
      const timer = setTimeout(() => finish(), timeoutMs);
      const onAbort = () => finish();
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#remove(waiter);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#add(waiter);
    });
  }

  #add(waiter: Waiter) {
    this.#count++;
    add(this.#byUser, waiter.interest.userId, waiter);
    for (const room of waiter.interest.rooms) add(this.#byRoom, room, waiter);
  }

  #remove(waiter: Waiter) {
    if (!remove(this.#byUser, waiter.interest.userId, waiter)) return;
    this.#count--;
    for (const room of waiter.interest.rooms) remove(this.#byRoom, room, waiter);
  }

  async close() {
    this.deliver('everyone');
  }
}

function add(index: Map<string, Set<Waiter>>, key: string, waiter: Waiter) {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(waiter);
}

function remove(index: Map<string, Set<Waiter>>, key: string, waiter: Waiter): boolean {
  const set = index.get(key);
  if (!set?.delete(waiter)) return false;
  if (set.size === 0) index.delete(key);
  return true;
}

const CHANNEL = 'caduceus_stream';
/** NOTIFY payloads are limited to 8000 bytes; a bigger change is sent as "wake everyone". */
const MAX_PAYLOAD = 7900;

/** Shares changes between server processes on one PostgreSQL database. */
export class PostgresNotifier extends LocalNotifier {
  readonly #url: string;
  readonly #publisher: pg.Pool;
  #listener: pg.Client | undefined;
  #closed = false;
  #onError: (err: Error) => void;

  constructor(url: string, onError: (err: Error) => void = () => {}) {
    super();
    this.#url = url;
    this.#onError = onError;
    this.#publisher = new pg.Pool({ connectionString: url, max: 2 });
    this.#publisher.on('error', (err) => this.#onError(err));
  }

  /** Starts listening; resolves once the LISTEN is in place. */
  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url });
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      try {
        const parsed = JSON.parse(message.payload) as { p: number; r?: string[]; u?: string[]; all?: true };
        this.deliver(parsed.all ? 'everyone' : { position: parsed.p, rooms: parsed.r ?? [], users: parsed.u ?? [] });
      } catch (err) {
        this.#onError(err as Error);
      }
    });
    client.on('error', (err) => {
      this.#onError(err);
      void this.#reconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.#listener = client;
  }

  async #reconnect() {
    if (this.#closed) return;
    this.#listener?.end().catch(() => {});
    this.#listener = undefined;
    for (let delay = 100; !this.#closed; delay = Math.min(delay * 2, 5000)) {
      await new Promise((r) => setTimeout(r, delay));
      try {
        await this.start();
        // Changes may have been missed while disconnected: let every waiter look again.
        this.deliver('everyone');
        return;
      } catch (err) {
        this.#onError(err as Error);
      }
    }
  }

  override publish(change: StreamChange): void {
    this.deliver(change);
    let payload = JSON.stringify({ p: change.position, r: change.rooms, u: change.users });
    if (Buffer.byteLength(payload) > MAX_PAYLOAD) payload = JSON.stringify({ p: change.position, all: true });
    this.#publisher.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]).catch((err: Error) => this.#onError(err));
  }

  override async close() {
    this.#closed = true;
    await super.close();
    await this.#listener?.end().catch(() => {});
    await this.#publisher.end().catch(() => {});
  }
}
