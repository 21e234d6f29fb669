/** Each user's push-rule customisations, stored as one JSON document. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { inTransaction, takeStreamPositions } from './streams.ts';

export interface PushRulesStore {
  get(userId: string): Promise<unknown | undefined>;
  put(userId: string, rules: unknown): Promise<number>;
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

  async put(userId: string, rules: unknown) {
    // Push rule changes reach clients through /sync account data, so they share its stream.
    const json = JSON.stringify(rules);
    return inTransaction(this.#db, async (trx) => {
      const streamId = await takeStreamPositions(trx);
      await trx
        .insertInto('push_rules')
        .values({ user_id: userId, rules: json, stream_id: streamId })
        .onConflict((oc) => oc.column('user_id').doUpdateSet({ rules: json, stream_id: streamId }))
        .execute();
      return streamId;
    });
  }
}
