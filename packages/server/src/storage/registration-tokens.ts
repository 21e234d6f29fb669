/** Registration tokens (spec: m.login.registration_token). */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface RegistrationTokenRecord {
  token: string;
  usesAllowed: number | null;
  completed: number;
  expiryTs: number | null;
  createdTs: number;
  createdBy: string | null;
}

export interface RegistrationTokenStore {
  create(token: RegistrationTokenRecord): Promise<boolean>;
  get(token: string): Promise<RegistrationTokenRecord | undefined>;
  list(): Promise<RegistrationTokenRecord[]>;
  /** False when there was no such token. */
  delete(token: string): Promise<boolean>;
  /** Uses the token once if it is still valid at `now`; false when it is exhausted, expired or unknown. */
  consume(token: string, now: number): Promise<boolean>;
}

type Row = Database['registration_tokens'];
const toRecord = (r: Row): RegistrationTokenRecord => ({
  token: r.token,
  usesAllowed: r.uses_allowed,
  completed: r.completed,
  expiryTs: r.expiry_ts,
  createdTs: r.created_ts,
  createdBy: r.created_by,
});

export class KyselyRegistrationTokenStore implements RegistrationTokenStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async create(t: RegistrationTokenRecord) {
    const result = await this.#db
      .insertInto('registration_tokens')
      .values({ token: t.token, uses_allowed: t.usesAllowed, completed: t.completed, expiry_ts: t.expiryTs, created_ts: t.createdTs, created_by: t.createdBy })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async get(token: string) {
    const row = await this.#db.selectFrom('registration_tokens').selectAll().where('token', '=', token).executeTakeFirst();
    return row && toRecord(row);
  }

  async list() {
    return (await this.#db.selectFrom('registration_tokens').selectAll().orderBy('created_ts').execute()).map(toRecord);
  }

  async delete(token: string) {
    const result = await this.#db.deleteFrom('registration_tokens').where('token', '=', token).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async consume(token: string, now: number) {
    const result = await this.#db
      .updateTable('registration_tokens')
      .set((eb) => ({ completed: eb('completed', '+', 1) }))
      .where('token', '=', token)
      .where((eb) => eb.or([eb('uses_allowed', 'is', null), eb('completed', '<', eb.ref('uses_allowed'))]))
      .where((eb) => eb.or([eb('expiry_ts', 'is', null), eb('expiry_ts', '>', now)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
