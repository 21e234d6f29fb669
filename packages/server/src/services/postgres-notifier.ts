/**
 * Shares changes between server processes on one PostgreSQL database: each publish is also sent as
 * a NOTIFY, and every process LISTENs and delivers the others' changes to its own waiters and caches.
 */
import { randomUUID } from 'node:crypto';
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
/** How long `settled` waits for the other processes to confirm an ended session (one that died must not hold anyone up for good). */
const CONFIRM_PATIENCE_MS = 1_000;

/** How long closing waits to say goodbye to the others. */
const BYE_PATIENCE_MS = 500;

/** What goes over the channel: a change (with its sender), a greeting, or a confirmation that a change was heard. */
type ChangeNotice = { i?: string; f: number; p: number; r?: readonly string[]; u?: readonly string[]; m?: StreamChange['marks']; all?: true };
type Notice =
  | ChangeNotice
  | { hello: string; reply: boolean }
  | { bye: string }
  | { heard: number; by: string; to: string };

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
   * Positions this process published whose notice has not come back through its own LISTEN yet
   * (that its change is in the database's queue for every listener; `#unheard` is what says the
   * others have handled it).
   */
  readonly #unechoed = new Confirmations(ECHO_PATIENCE_MS);
  /** This notifier's name on the channel: the others confirm to it (and its own notice, coming back, to itself). */
  readonly #id = randomUUID();
  /** The other processes (or threads) listening on the database, known from their greeting or their changes. */
  readonly #peers = new Set<string>();
  /**
   * Changes that end or restart sessions, published here, until every peer has confirmed handling
   * them. The return of our own notice does not say that: each listener reads it from its own
   * connection, in its own time, and a peer that has not yet would still accept the ended token.
   */
  readonly #unheard = new Confirmations(CONFIRM_PATIENCE_MS);

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
    this.#send({ hello: this.#id, reply: true });
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
        const parsed = JSON.parse(message.payload) as Notice;
        if ('hello' in parsed) {
          if (parsed.hello !== this.#id && !this.#peers.has(parsed.hello)) {
            this.#peers.add(parsed.hello);
            if (parsed.reply) this.#send({ hello: this.#id, reply: false });
          }
          return;
        }
        if ('bye' in parsed) {
          // A peer shutting down: nothing more to wait for from it.
          this.#peers.delete(parsed.bye);
          this.#unheard.confirmAll(parsed.bye);
          return;
        }
        if ('heard' in parsed) {
          if (parsed.to === this.#id) this.#unheard.confirm(parsed.heard, parsed.by);
          return;
        }
        const from = parsed.i !== undefined && parsed.i !== this.#id ? parsed.i : undefined;
        if (from !== undefined) this.#peers.add(from);
        if (parsed.all) {
          // Too big to describe: every room and user may have changed up to here.
          this.reset(parsed.p);
          this.deliver('everyone');
        } else {
          this.deliver({ first: parsed.f, position: parsed.p, rooms: parsed.r ?? [], users: parsed.u ?? [], marks: parsed.m });
        }
        // Our own notice, back: it is queued for every listener.
        if (from === undefined) this.#unechoed.confirm(parsed.p, this.#id);
        // Delivered, so this process's caches have dropped the ended sessions: tell their writer.
        if (from !== undefined && (parsed.all || parsed.m?.sessions)) this.#send({ heard: parsed.p, by: this.#id, to: from });
      } catch (err) {
        this.#onError(err as Error);
      }
    });
    client.on('error', (err) => {
      // Notices may be lost from here on: caches stop serving until the reset after reconnecting.
      this.#live = false;
      this.#unechoed.forget();
      this.#unheard.forget();
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
    let payload = JSON.stringify({ i: this.#id, f: change.first, p: change.position, r: change.rooms, u: change.users, m: change.marks } satisfies ChangeNotice);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD) payload = JSON.stringify({ i: this.#id, f: change.first, p: change.position, all: true } satisfies ChangeNotice);
    this.#unechoed.expect(change.position, [this.#id]);
    // Only ended sessions are waited for (`settled`); a notice too big to describe is confirmed too,
    // as it drops every cache.
    if (change.marks?.sessions) this.#unheard.expect(change.position, this.#peers);
    this.#notify(payload).catch((err: Error) => {
      this.#unechoed.confirm(change.position, this.#id);
      this.#onError(err);
    });
  }

  /** A greeting or a confirmation (changes go through `publish`). */
  #send(notice: Notice) {
    this.#notify(JSON.stringify(notice)).catch((err: Error) => this.#onError(err));
  }

  async #notify(payload: string): Promise<void> {
    await this.#publisher.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]);
  }

  override async settled(): Promise<void> {
    if (!this.live) return;
    const [, silent] = await Promise.all([this.#unechoed.settled(), this.#unheard.settled()]);
    // A peer that has not confirmed within the patience is gone (or too slow to wait for): later
    // logouts do not wait for it. It counts again once it greets or publishes a change.
    for (const peer of silent) this.#peers.delete(peer);
  }

  override async close() {
    // Tell the others not to wait for this process any more (a crash says nothing: see `settled`).
    if (this.#live) {
      const bye = this.#notify(JSON.stringify({ bye: this.#id } satisfies Notice)).catch(() => {});
      // A database that does not answer must not hold the shutdown up.
      await Promise.race([bye, new Promise((resolve) => setTimeout(resolve, BYE_PATIENCE_MS).unref())]);
    }
    this.#closed = true;
    this.#unechoed.forget();
    this.#unheard.forget();
    clearInterval(this.#watchdog);
    await super.close();
    await this.#listener?.end().catch(() => {});
    await this.#publisher.end().catch(() => {});
  }
}
