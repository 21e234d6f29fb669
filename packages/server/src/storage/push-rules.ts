/** Each user's push-rule customisations, stored as one JSON document. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { inTransaction, takeStreamPositions } from './streams.ts';

export interface PushRulesStore {
  get(userId: string): Promise<unknown | undefined>;
  /**
   * Read-modify-write of the user's document, safe against concurrent writers in any process:
   * the stream position is taken first, and its row lock serialises the whole transaction.
   */
  update(userId: string, change: (current: unknown | undefined) => unknown): Promise<number>;
}

export class KyselyPushRulesStore implements PushRulesStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async get(userId: string) {
    const row = await this.#db.selectFrom('push_rules').select('rules').where('user_id', '=', userId).executeTakeFirst();
    return row && (JSON.parse(row.rules) as unknown);
  }

  async update(userId: string, change: (current: unknown | undefined) => unknown) {
    return inTransaction(this.#db, async (trx) => {
      const streamId = await takeStreamPositions(trx);
      const row = await trx.selectFrom('push_rules').select('rules').where('user_id', '=', userId).executeTakeFirst();
      const json = JSON.stringify(change(row && (JSON.parse(row.rules) as unknown)));
      await trx
        .insertInto('push_rules')
        .values({ user_id: userId, rules: json, stream_id: streamId })
        .onConflict((oc) => oc.column('user_id').doUpdateSet({ rules: json, stream_id: streamId }))
        .execute();
      return streamId;
    });
  }
}
