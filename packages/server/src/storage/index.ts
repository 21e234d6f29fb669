/**
 * The storage the services use: one narrow store per domain, all over the same Kysely database,
 * and transactions that hand every store the same transaction.
 */
import type { Kysely } from 'kysely';
import { KyselyAccountDataStore, type AccountDataStore } from './account-data.ts';
import type { Engine } from './database.ts';
import { KyselyFilterStore, type FilterStore } from './filters.ts';
import { KyselyPushRulesStore, type PushRulesStore } from './push-rules.ts';
import { KyselyRegistrationTokenStore, type RegistrationTokenStore } from './registration-tokens.ts';
import type { Database } from './schema.ts';
import { KyselySessionStore, type SessionStore } from './sessions.ts';
import { KyselyUiaStore, type UiaStore } from './uia.ts';
import { KyselyUserStore, type UserStore } from './users.ts';

export interface Stores {
  users: UserStore;
  sessions: SessionStore;
  uia: UiaStore;
  registrationTokens: RegistrationTokenStore;
  accountData: AccountDataStore;
  filters: FilterStore;
  pushRules: PushRulesStore;
}

export interface Storage extends Stores {
  readonly engine: Engine;
  /** Runs `work` in one database transaction: all of it commits, or none of it. */
  transaction<T>(work: (stores: Stores) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

function storesOver(db: Kysely<Database>): Stores {
  return {
    users: new KyselyUserStore(db),
    sessions: new KyselySessionStore(db),
    uia: new KyselyUiaStore(db),
    registrationTokens: new KyselyRegistrationTokenStore(db),
    accountData: new KyselyAccountDataStore(db),
    filters: new KyselyFilterStore(db),
    pushRules: new KyselyPushRulesStore(db),
  };
}

export function createStorage(db: Kysely<Database>, engine: Engine, close: () => Promise<void>): Storage {
  return {
    ...storesOver(db),
    engine,
    transaction: (work) => db.transaction().execute((trx) => work(storesOver(trx))),
    close,
  };
}

export type { AccountDataStore, FilterStore, PushRulesStore, RegistrationTokenStore, SessionStore, UiaStore, UserStore };
export type { DeviceRecord, AccessTokenRecord, RefreshTokenRecord } from './sessions.ts';
export type { UserRecord } from './users.ts';
export type { RegistrationTokenRecord } from './registration-tokens.ts';
export { GLOBAL_ROOM } from './account-data.ts';
