/**
 * Shares changes between server processes on one PostgreSQL database: each publish is also sent as
 * a NOTIFY, and every process LISTENs and delivers the others' changes to its own waiters and caches.
 */
import pg from 'pg';
import { Confirmations, LocalNotifier, type StreamChange } from './notifier.ts';

const CHANNEL = 'caduceus_stream';
const GAP_CHECK_MS = 2_000;
/** How long a gap may stay open before we assume its writer died without notifying. */
const GAP_PATIENCE_MS = 5_000;
/** NOTIFY payloads are limited to 8000 bytes; a bigger change is sent as "wake everyone". */
const MAX_PAYLOAD = 7900;

/** How long `settled` waits for this process's own notice to come back (a lost one must not hold anyone up for good). */
const ECHO_PATIENCE_MS = 1_000;

export class PostgresNotifier extends LocalNotifier {
  readonly #url: string;
  readonly #publisher: pg.Pool;
  #listener: pg.Client | undefined;
  #closed = false;
  #onError: (err: Error) => void;
  #watchdog: NodeJS.Timeout | undefined;
  #stuckSince: { position: number; at: number } | undefined;
  /** Listening, and in step since: false until started and from a lost connection until the reset after reconnecting. */
  #live = false;
  /**
   * Positions this process published whose notice has not come back through its own LISTEN yet.
   * PostgreSQL hands a notice to every listener at once, so its return means the others have it too.
   */
  readonly #unechoed = new Confirmations(ECHO_PATIENCE_MS);

  constructor(url: string, onError: (err: Error) => void = () => {}) {
    super();
    this.#url = url;
    this.#onError = onError;
    this.#publisher = new pg.Pool({ connectionString: url, max: 2 });
    this.#publisher.on('error', (err) => this.#onError(err));
  }

  override get live() {
    return this.#live && !this.#closed;
  }

  override get soleWriter() {
    return false;
  }

  /** Other processes commit too: the database knows the position. */
  override get committedUpTo(): number | undefined {
    return undefined;
  }

  /** Starts listening; resolves once the LISTEN is in place. */
  override async start(current: number): Promise<void> {
    await this.#listen();
    super.start(current);
    this.#live = true;
    this.#watchdog = setInterval(() => void this.#checkForGaps(), GAP_CHECK_MS);
    this.#watchdog.unref();
  }

  /**
   * A process that died between its commit and its NOTIFY leaves a gap that would hold /sync back
   * for good. When the gap-free mark has not moved past a known position for a while, start over
   * from the database's position (everything before it counts as "may have changed").
   */
  async #checkForGaps() {
    if (this.#closed) return;
    try {
      const { rows } = await this.#publisher.query<{ value: string }>("SELECT value FROM stream_counters WHERE name = 'main'");
      const current = Number(rows[0]?.value ?? 0);
      if (this.heardUpTo >= current) {
        this.#stuckSince = undefined;
        return;
      }
      this.#stuckSince ??= { position: current, at: Date.now() };
      if (this.heardUpTo < this.#stuckSince.position && Date.now() - this.#stuckSince.at >= GAP_PATIENCE_MS) {
        this.reset(current);
        this.#stuckSince = undefined;
        this.deliver('everyone');
      }
    } catch (err) {
      this.#onError(err as Error);
    }
  }

  async #listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url });
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      try {
        const parsed = JSON.parse(message.payload) as { f: number; p: number; r?: string[]; u?: string[]; m?: StreamChange['marks']; all?: true };
        if (parsed.all) {
          // Too big to describe: every room and user may have changed up to here.
          this.reset(parsed.p);
          this.deliver('everyone');
        } else {
          this.deliver({ first: parsed.f, position: parsed.p, rooms: parsed.r ?? [], users: parsed.u ?? [], marks: parsed.m });
        }
        this.#unechoed.confirm(parsed.p);
      } catch (err) {
        this.#onError(err as Error);
      }
    });
    client.on('error', (err) => {
      // Notices may be lost from here on: caches stop serving until the reset after reconnecting.
      this.#live = false;
      this.#unechoed.forget();
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
        await this.#listen();
        // Changes may have been missed while disconnected: forget what we knew and let every waiter look again.
        const { rows } = await this.#publisher.query<{ value: string }>("SELECT value FROM stream_counters WHERE name = 'main'");
        this.reset(Number(rows[0]?.value ?? 0));
        this.#live = true;
        this.#unechoed.forget();
        this.deliver('everyone');
        return;
      } catch (err) {
        this.#onError(err as Error);
      }
    }
  }

  override publish(change: StreamChange): void {
    this.deliver(change);
    let payload = JSON.stringify({ f: change.first, p: change.position, r: change.rooms, u: change.users, m: change.marks });
    if (Buffer.byteLength(payload) > MAX_PAYLOAD) payload = JSON.stringify({ f: change.first, p: change.position, all: true });
    this.#unechoed.expect(change.position);
    this.#publisher.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]).catch((err: Error) => {
      this.#unechoed.confirm(change.position);
      this.#onError(err);
    });
  }

  override settled(): Promise<void> {
    return this.live ? this.#unechoed.settled() : Promise.resolve();
  }

  override async close() {
    this.#closed = true;
    this.#unechoed.forget();
    clearInterval(this.#watchdog);
    await super.close();
    await this.#listener?.end().catch(() => {});
    await this.#publisher.end().catch(() => {});
  }
}
