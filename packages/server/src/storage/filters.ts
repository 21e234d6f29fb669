/** Sync filters uploaded by clients. Identical filters from the same user share one id. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface FilterStore {
  get(userId: string, filterId: string): Promise<string | undefined>;
  findByHash(userId: string, filterHash: string): Promise<string | undefined>;
  /** Returns false when the id is taken (the caller picks another). */
  insert(userId: string, filterId: string, filterHash: string, filterJson: string): Promise<boolean>;
}

export class KyselyFilterStore implements FilterStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async get(userId: string, filterId: string) {
    const row = await this.#db.selectFrom('filters').select('filter_json').where('user_id', '=', userId).where('filter_id', '=', filterId).executeTakeFirst();
    return row?.filter_json;
  }

  async findByHash(userId: string, filterHash: string) {
    const row = await this.#db.selectFrom('filters').select('filter_id').where('user_id', '=', userId).where('filter_hash', '=', filterHash).executeTakeFirst();
    return row?.filter_id;
  }

  async insert(userId: string, filterId: string, filterHash: string, filterJson: string) {
    const result = await this.#db
      .insertInto('filters')
      .values({ user_id: userId, filter_id: filterId, filter_hash: filterHash, filter_json: filterJson })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }
}
