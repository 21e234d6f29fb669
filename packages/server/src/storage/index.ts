/**
 * The storage the services use: one narrow store per domain, all over the same Kysely database,
 * and transactions that hand every store the same transaction.
 */
import { sql, type CompiledQuery, type Kysely } from 'kysely';
import { KyselyAccountDataStore, type AccountDataStore } from './account-data.ts';
import { DeferredEvents } from './deferred-events.ts';
import { KyselyDepartmentStore, type DepartmentStore } from './departments.ts';
import { KyselyAuditStore, type AuditStore } from './audit.ts';
import type { Engine, OpenDatabase } from './database.ts';
import { KyselyEphemeralStore, type EphemeralStore } from './ephemeral.ts';
import { KyselyEventStore, appendBasesQuery, basesFromRows, type AppendIntent, type EventStore } from './events.ts';
import { KyselyKeyStore, type KeyStore } from './keys.ts';
import { KyselyKeyBackupStore, type KeyBackupStore } from './key-backup.ts';
import { KyselyMediaStore, type MediaStore } from './media.ts';
import { KyselyMfaStore, KyselySignInStore, KyselyUpstreamIdpLinkStore, type MfaStore, type SignInStore, type UpstreamIdpLinkStore } from './mfa.ts';
import { KyselyOAuthStore, type OAuthStore } from './oauth.ts';
import { KyselyRoomStore, type RoomStore } from './rooms.ts';
import { KyselyRoleStore, type RoleStore } from './roles.ts';
import { KyselyStreamStore, type StreamStore } from './streams.ts';
import { KyselyToDeviceStore, type ToDeviceStore } from './to-device.ts';
import { KyselyFilterStore, type FilterStore } from './filters.ts';
import { KyselyPushRulesStore, type PushRulesStore } from './push-rules.ts';
import { KyselyRegistrationTokenStore, type RegistrationTokenStore } from './registration-tokens.ts';
import type { Database } from './schema.ts';
import { KyselySessionStore, type SessionStore } from './sessions.ts';
import { KyselyServerNoticeStore, type ServerNoticeStore } from './server-notices.ts';
import { KyselyUiaStore, type UiaStore } from './uia.ts';
import { KyselyUserStore, type UserStore } from './users.ts';
import { KyselySettingsStore, type SettingsStore } from './settings.ts';
import { KyselyAdminViewStore, type AdminViewStore } from './admin-views.ts';
import { KyselyRetentionStore, type RetentionStore } from './retention.ts';
import { KyselySyncBatchStore, type SyncBatchStore } from './sync-batch.ts';

export interface Stores {
  users: UserStore;
  sessions: SessionStore;
  serverNotices: ServerNoticeStore;
  uia: UiaStore;
  registrationTokens: RegistrationTokenStore;
  accountData: AccountDataStore;
  filters: FilterStore;
  pushRules: PushRulesStore;
  events: EventStore;
  rooms: RoomStore;
  ephemeral: EphemeralStore;
  stream: StreamStore;
  toDevice: ToDeviceStore;
  keys: KeyStore;
  keyBackup: KeyBackupStore;
  media: MediaStore;
  roles: RoleStore;
  mfa: MfaStore;
  signIn: SignInStore;
  upstreamIdpLinks: UpstreamIdpLinkStore;
  oauth: OAuthStore;
  settings: SettingsStore;
  adminViews: AdminViewStore;
  departments: DepartmentStore;
  audit: AuditStore;
  retention: RetentionStore;
  syncBatch: SyncBatchStore;
}

export interface Storage extends Stores {
  readonly engine: Engine;
  /** Runs `work` in one database transaction: all of it commits, or none of it. */
  transaction<T>(work: (stores: Stores) => Promise<T>): Promise<T>;
  /**
   * One transaction for a batch of independent jobs: `isolate` runs a job under a savepoint, so a
   * job that fails leaves no trace while the others still commit together. `appends`: the rooms
   * (and transactions) the jobs will append to, so their bases can be read together up front.
   */
  batchTransaction<T>(work: (stores: Stores, isolate: <U>(job: () => Promise<U>) => Promise<U>) => Promise<T>, size: number, appends?: ReadonlyArray<AppendIntent>): Promise<T>;
  /**
   * Resolves once every commit so far would survive a power loss. On SQLite the log is synced off
   * the event loop (wal-durability.ts); batch transactions wait for it before they resolve, and
   * every HTTP answer waits for it while `commitsPending`. At once on PostgreSQL.
   */
  durable(): Promise<void>;
  readonly commitsPending: boolean;
  /**
   * Resolves when no other thread of this server is writing: a batch writer waits here for its turn
   * without blocking its thread (SQLite with worker threads; at once otherwise).
   */
  writeTurn(): Promise<void>;
  close(): Promise<void>;
}

/** `transactional`: the stores of one transaction (they may remember what only it can change). */
function storesOver(db: Kysely<Database>, engine: Engine, transactional = false): Stores {
  return {
    users: new KyselyUserStore(db),
    sessions: new KyselySessionStore(db),
    serverNotices: new KyselyServerNoticeStore(db),
    uia: new KyselyUiaStore(db),
    registrationTokens: new KyselyRegistrationTokenStore(db),
    accountData: new KyselyAccountDataStore(db),
    filters: new KyselyFilterStore(db),
    pushRules: new KyselyPushRulesStore(db),
    events: new KyselyEventStore(db, engine),
    rooms: new KyselyRoomStore(db),
    ephemeral: new KyselyEphemeralStore(db),
    stream: new KyselyStreamStore(db),
    toDevice: new KyselyToDeviceStore(db),
    keys: new KyselyKeyStore(db),
    keyBackup: new KyselyKeyBackupStore(db),
    media: new KyselyMediaStore(db),
    roles: new KyselyRoleStore(db),
    mfa: new KyselyMfaStore(db),
    signIn: new KyselySignInStore(db),
    upstreamIdpLinks: new KyselyUpstreamIdpLinkStore(db),
    oauth: new KyselyOAuthStore(db),
    settings: new KyselySettingsStore(db),
    adminViews: new KyselyAdminViewStore(db),
    departments: new KyselyDepartmentStore(db),
    audit: new KyselyAuditStore(db, engine, transactional),
    retention: new KyselyRetentionStore(db, engine),
    syncBatch: new KyselySyncBatchStore(db),
  };
}

export function createStorage(opened: OpenDatabase): Storage {
  const { db, engine } = opened;
  return {
    ...storesOver(db, engine),
    engine,
    durable: () => opened.durable(),
    writeTurn: () => opened.writeTurn(),
    get commitsPending() {
      return opened.commitsPending;
    },
    transaction: async (work) => {
      const result = await db.transaction().execute(async (trx) => {
        const stores = storesOver(trx, engine, true);
        const done = await work(stores);
        await stores.audit.writePending();
        return done;
      });
      await opened.durable();
      return result;
    },
    batchTransaction: async (work, size, appends = []) => {
      const single = size === 1;
      // PostgreSQL: a batch in as few round trips as possible (postgres-batch.ts). Its opening takes
      // the stream and audit locks, reads the audit head and its sends' bases; its messages, audit
      // entries and the stream's new position are held back (deferred-events.ts) and go with the
      // commit. Every round trip saved is one every other write waits for.
      const bases = opened.beginLockedBatch && appends.length >= 2 ? appendBasesQuery(db, appends) : undefined;
      const locked = opened.beginLockedBatch ? await opened.beginLockedBatch(bases ? [bases] : []) : undefined;
      const trx = locked ? undefined : await db.startTransaction().execute();
      const conn = locked?.db ?? trx!;
      const written = storesOver(conn, engine, true);
      let lockedStream: LockedBatchStream | undefined;
      if (locked) {
        written.stream = lockedStream = new LockedBatchStream(new KyselyStreamStore(conn), locked.streamPosition);
        written.audit.lockedWith(locked.auditHead);
      }
      const deferred = locked ? new DeferredEvents(written.events) : undefined;
      if (deferred && bases) deferred.rememberBases(appends, basesFromRows(locked!.alsoRead[0]!, appends.length));
      const stores = deferred ? { ...written, events: deferred.eventStore(), retention: deferred.retentionStore(written.retention) } : written;
      const rollback = () => (locked ? locked.rollback() : trx!.rollback().execute());
      try {
        let jobs = 0;
        const isolate = async <U>(job: () => Promise<U>): Promise<U> => {
          // A batch of one needs no savepoint: if its job fails, the caller rolls back everything.
          if (single) return job();
          const name = `job${jobs++}`;
          // What the jobs before appended (events, audit entries) is not this job's to roll back.
          await deferred?.flush();
          await stores.audit.writePending();
          await sql`savepoint ${sql.id(name)}`.execute(conn);
          try {
            const result = await job();
            await sql`release savepoint ${sql.id(name)}`.execute(conn);
            return result;
          } catch (err) {
            deferred?.discard();
            await sql`rollback to savepoint ${sql.id(name)}`.execute(conn);
            stores.audit.rolledBackToSavepoint();
            throw err;
          }
        };
        const result = await work(stores, isolate);
        if (locked) {
          await locked.commit([...deferred!.takeWrites(), ...stores.audit.takePendingWrites(), ...lockedStream!.takeWrites()]);
        } else {
          await stores.audit.writePending();
          await trx!.commit().execute();
        }
        await opened.durable();
        return result;
      } catch (err) {
        await rollback().catch(() => {});
        throw err;
      }
    },
    close: () => opened.close(),
  };
}

/**
 * The stream store of a batch begun with the stream locked at `position`: the first `lock` needs no
 * query, and the stream's new position waits to go with the commit (`takeWrites`).
 */
class LockedBatchStream implements StreamStore {
  readonly #store: KyselyStreamStore;
  readonly #position: number;
  #taken = false;
  #advanceTo: number | undefined;

  constructor(store: KyselyStreamStore, position: number) {
    this.#store = store;
    this.#position = position;
  }

  async lock() {
    if (!this.#taken) {
      this.#taken = true;
      return this.#position;
    }
    await this.#writeAdvance();
    return this.#store.lock();
  }

  async advanceTo(position: number) {
    this.#advanceTo = position;
  }

  async current() {
    await this.#writeAdvance();
    return this.#store.current();
  }

  /** The held-back advance as a statement for the caller to run; no longer held. */
  takeWrites(): CompiledQuery[] {
    const position = this.#take();
    return position === undefined ? [] : [this.#store.advanceQuery(position)];
  }

  async #writeAdvance() {
    const position = this.#take();
    if (position !== undefined) await this.#store.advanceTo(position);
  }

  #take(): number | undefined {
    const position = this.#advanceTo;
    this.#advanceTo = undefined;
    return position;
  }
}

export type { StreamStore } from './streams.ts';
export type { KeyStore } from './keys.ts';
export type { RoleStore } from './roles.ts';
export type { MfaStore, SignInStore, SignInFlowRecord, SignInCompletion, WebAuthnCredentialRecord } from './mfa.ts';
export type { SettingsStore } from './settings.ts';
export type { OAuthStore, OAuthRecord } from './oauth.ts';
export type { AdminViewStore, AdminUserRow, AdminRoomRow } from './admin-views.ts';
export type { DepartmentStore, DepartmentRecord } from './departments.ts';
export type { AuditStore, AuditEntryRow, AuditCheckpointRow, AuditFilter, AuditQuery } from './audit.ts';
export type { KeyBackupStore } from './key-backup.ts';
export type { RetentionStore, LegalHold, HoldKind } from './retention.ts';
export type { SyncBatchStore } from './sync-batch.ts';
export type { MediaStore, MediaRecord, MediaReference } from './media.ts';
export type { AccountDataStore, EphemeralStore, EventStore, FilterStore, PushRulesStore, RegistrationTokenStore, RoomStore, SessionStore, UiaStore, UserStore };
export type { AppendBasis, AppendIntent, EventRow, EventTxn, NewEventRow, MembershipRow, PendingEvent } from './events.ts';
export type { RoomRecord } from './rooms.ts';
export type { ReceiptRecord } from './ephemeral.ts';
export type { DeviceRecord, AccessTokenRecord, AccessTokenLookup, RefreshTokenRecord, EndReason, Ending, EndedTokenRecord } from './sessions.ts';
export type { UserRecord } from './users.ts';
export type { RegistrationTokenRecord } from './registration-tokens.ts';
export { GLOBAL_ROOM } from './account-data.ts';
