/**
 * The audit log's rows: plain data in and out. Hashing, chaining and signing live in
 * compliance/audit; this store only appends and reads. It has no update or delete on purpose.
 */
import { sql, type CompiledQuery, type Kysely } from 'kysely';
import type { Engine } from './database.ts';
import type { Database } from './schema.ts';

export interface AuditEntryRow {
  seq: number;
  ts: number;
  actorUserId: string | null;
  actorDeviceId: string | null;
  actorAddress: string | null;
  actorUserAgent: string | null;
  action: string;
  outcome: string;
  /** JSON object of target ids. */
  target: string;
  requestId: string | null;
  /** JSON object of non-content facts. */
  details: string;
  prevHash: string;
  hash: string;
}

export interface AuditCheckpointRow {
  seq: number;
  ts: number;
  hash: string;
  keyId: string;
  signature: string;
}

/** Which entries a search or an export covers; every field left out matches everything. */
export interface AuditFilter {
  /** Milliseconds since the epoch; entries at or after. */
  fromTs?: number | undefined;
  /** Entries before. */
  toTs?: number | undefined;
  /** Entries this user performed (actor) or that concern them (target userId). */
  userId?: string | undefined;
  /** Entries about this room (target roomId). */
  roomId?: string | undefined;
  /** An exact action, or a prefix ending in "." ("admin." matches every admin action). */
  action?: string | undefined;
  outcome?: string | undefined;
}

export interface AuditQuery extends AuditFilter {
  /** Entries after this sequence number (paging); from the first when left out. */
  afterSeq?: number | undefined;
  limit: number;
}

/** The upper bound of a prefix search: the prefix with its last character incremented ("admin." → "admin/"). */
const prefixEnd = (prefix: string) => prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);

export interface AuditStore {
  /**
   * Locks the chain for the rest of this transaction: another transaction's append waits until this
   * one ends, so two entries never claim the same predecessor. (SQLite serialises writers anyway.)
   */
  lock(): Promise<void>;
  /** The newest entry (call after lock()). */
  head(): Promise<{ seq: number; hash: string } | undefined>;
  /** This transaction began with the lock taken and the head read (PostgreSQL write batches): `lock` and `head` need no query. */
  lockedWith(head: { seq: number; hash: string } | undefined): void;
  /**
   * Adds an entry. Within a transaction the row is written by `writePending` (the transaction does
   * that before its commit and before each savepoint), together with the others of the transaction.
   */
  append(row: AuditEntryRow): Promise<void>;
  /** Writes the entries appended in this transaction and not yet written, in one statement. */
  writePending(): Promise<void>;
  /** The same entries as statements for the caller to run (a PostgreSQL batch sends them with its commit); they are no longer pending. */
  takePendingWrites(): CompiledQuery[];
  /**
   * A savepoint of this transaction was rolled back: what the store remembers of the chain within
   * the transaction (the lock taken, its own newest entry, entries appended since) is gone with it.
   */
  rolledBackToSavepoint(): void;
  addCheckpoint(row: AuditCheckpointRow): Promise<void>;
  latestCheckpoint(): Promise<AuditCheckpointRow | undefined>;
  checkpoints(): Promise<AuditCheckpointRow[]>;
  /** Entries in sequence order, one page at a time. */
  entries(query: AuditQuery): Promise<AuditEntryRow[]>;
}

type EntryRow = Database['audit_log'];
type CheckpointRow = Database['audit_checkpoints'];

const toEntry = (r: EntryRow): AuditEntryRow => ({
  // SQLite hands back whatever was stored; a tampered row may even hold a non-integer sequence number.
  seq: Number(r.seq),
  ts: Number(r.ts),
  actorUserId: r.actor_user_id,
  actorDeviceId: r.actor_device_id,
  actorAddress: r.actor_address,
  actorUserAgent: r.actor_user_agent,
  action: r.action,
  outcome: r.outcome,
  target: r.target,
  requestId: r.request_id,
  details: r.details,
  prevHash: r.prev_hash,
  hash: r.hash,
});

const toCheckpoint = (r: CheckpointRow): AuditCheckpointRow => ({ seq: Number(r.seq), ts: Number(r.ts), hash: r.hash, keyId: r.key_id, signature: r.signature });

/** Most entries one insert writes. */
const MAX_ROWS_PER_INSERT = 500;

export class KyselyAuditStore implements AuditStore {
  readonly #db: Kysely<Database>;
  readonly #engine: Engine;
  /**
   * Within one transaction (a store made for it), the chain lock once taken and the entry this
   * transaction appended last: nobody else can append until it ends, so a batch of audited writes
   * needs the lock and the head once, not once per entry. Never kept outside a transaction.
   */
  readonly #transactional: boolean;
  #locked = false;
  #head: { seq: number; hash: string } | undefined;
  /**
   * Entries this transaction appended, not yet written. On PostgreSQL every statement inside the
   * serialised write is a round trip that every other write waits for: a batch of sends writes its
   * entries in one.
   */
  #pending: AuditEntryRow[] = [];

  constructor(db: Kysely<Database>, engine: Engine, transactional = false) {
    this.#db = db;
    this.#engine = engine;
    this.#transactional = transactional;
  }

  async lock() {
    if (this.#locked) return;
    // Hot path (every audited write): plain templates, as for stream positions.
    if (this.#engine === 'postgres') await sql`select id from audit_chain_lock where id = 1 for update`.execute(this.#db);
    this.#locked = this.#transactional;
  }

  /** The transaction was begun with the chain's lock taken and its head read (postgres-batch.ts). */
  lockedWith(head: { seq: number; hash: string } | undefined) {
    this.#locked = this.#transactional;
    this.#head = head;
  }

  async head() {
    if (this.#head) return this.#head;
    const { rows } = await sql<{ seq: number; hash: string }>`select seq, hash from audit_log order by seq desc limit 1`.execute(this.#db);
    return rows[0] ? { seq: Number(rows[0].seq), hash: rows[0].hash } : undefined;
  }

  rolledBackToSavepoint() {
    this.#locked = false;
    this.#head = undefined;
    // Written before the savepoint, the ones pending now are the rolled-back job's.
    this.#pending = [];
  }

  async append(r: AuditEntryRow) {
    if (!this.#transactional) {
      await this.#insert([r]);
      return;
    }
    this.#pending.push(r);
    if (this.#locked) this.#head = { seq: r.seq, hash: r.hash };
  }

  async writePending() {
    while (this.#pending.length > 0) {
      // Bounded: 13 parameters a row, well under either engine's limit per statement.
      const rows = this.#pending.slice(0, MAX_ROWS_PER_INSERT);
      await this.#insert(rows);
      // Only once the rows are in: a failed insert leaves them pending, and the transaction fails.
      this.#pending.splice(0, rows.length);
    }
  }

  takePendingWrites(): CompiledQuery[] {
    const queries: CompiledQuery[] = [];
    for (let i = 0; i < this.#pending.length; i += MAX_ROWS_PER_INSERT) queries.push(this.#insertQuery(this.#pending.slice(i, i + MAX_ROWS_PER_INSERT)));
    this.#pending = [];
    return queries;
  }

  async #insert(rows: readonly AuditEntryRow[]) {
    await this.#db.executeQuery(this.#insertQuery(rows));
  }

  #insertQuery(rows: readonly AuditEntryRow[]): CompiledQuery {
    const values = rows.map(
      (r) =>
        sql`(${r.seq}, ${r.ts}, ${r.actorUserId}, ${r.actorDeviceId}, ${r.actorAddress}, ${r.actorUserAgent}, ${r.action}, ${r.outcome}, ${r.target}, ${r.requestId}, ${r.details}, ${r.prevHash}, ${r.hash})`,
    );
    return sql`
      insert into audit_log (seq, ts, actor_user_id, actor_device_id, actor_address, actor_user_agent, action, outcome, target, request_id, details, prev_hash, hash)
      values ${sql.join(values)}`.compile(this.#db);
  }

  async addCheckpoint(r: AuditCheckpointRow) {
    // A checkpoint signs an entry: the entry is in before it.
    await this.writePending();
    await this.#db.insertInto('audit_checkpoints').values({ seq: r.seq, ts: r.ts, hash: r.hash, key_id: r.keyId, signature: r.signature }).execute();
  }

  async latestCheckpoint() {
    const row = await this.#db.selectFrom('audit_checkpoints').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row ? toCheckpoint(row) : undefined;
  }

  async checkpoints() {
    return (await this.#db.selectFrom('audit_checkpoints').selectAll().orderBy('seq').execute()).map(toCheckpoint);
  }

  async entries(query: AuditQuery) {
    await this.writePending();
    // These expressions are exactly those of migration 017's indexes, so the planner uses them.
    const postgres = this.#engine === 'postgres';
    const targetUser = postgres ? sql<string>`(target::jsonb ->> 'userId')` : sql<string>`json_extract(target, '$.userId')`;
    const targetRoom = postgres ? sql<string>`(target::jsonb ->> 'roomId')` : sql<string>`json_extract(target, '$.roomId')`;
    const action = postgres ? sql<string>`action collate "C"` : sql<string>`action`;

    let q = this.#db.selectFrom('audit_log').selectAll();
    if (query.afterSeq !== undefined) q = q.where('seq', '>', query.afterSeq);
    if (query.fromTs !== undefined) q = q.where('ts', '>=', query.fromTs);
    if (query.toTs !== undefined) q = q.where('ts', '<', query.toTs);
    if (query.userId !== undefined) {
      const userId = query.userId;
      q = q.where(sql<boolean>`((actor_user_id is not null and actor_user_id = ${userId}) or (${targetUser} is not null and ${targetUser} = ${userId}))`);
    }
    if (query.roomId !== undefined) q = q.where(sql<boolean>`(${targetRoom} is not null and ${targetRoom} = ${query.roomId})`);
    if (query.action !== undefined) {
      q = query.action.endsWith('.')
        ? q.where(sql<boolean>`(${action} >= ${query.action} and ${action} < ${prefixEnd(query.action)})`)
        : q.where(sql<boolean>`${action} = ${query.action}`);
    }
    if (query.outcome !== undefined) q = q.where('outcome', '=', query.outcome);
    return (await q.orderBy('seq').limit(query.limit).execute()).map(toEntry);
  }
}
