/** Each user's push-rule customisations, stored as one JSON document. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface PushRulesStore {
  get(userId: string): Promise<unknown | undefined>;
  /**
   * Read-modify-write of the user's document at the given stream position. Call it inside a
   * transaction that holds the stream lock: that serialises writers across server processes.
   */
  update(userId: string, change: (current: unknown | undefined) => unknown, streamId: number): Promise<void>;
  /** The stream position of the user's last change (0: never changed). */
  streamIdOf(userId: string): Promise<number>;
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

  async update(userId: string, change: (current: unknown | undefined) => unknown, streamId: number) {
    const row = await this.#db.selectFrom('push_rules').select('rules').where('user_id', '=', userId).executeTakeFirst();
    const json = JSON.stringify(change(row && (JSON.parse(row.rules) as unknown)));
    await this.#db
      .insertInto('push_rules')
      .values({ user_id: userId, rules: json, stream_id: streamId })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ rules: json, stream_id: streamId }))
      .execute();
  }

  async streamIdOf(userId: string) {
    const row = await this.#db.selectFrom('push_rules').select('stream_id').where('user_id', '=', userId).executeTakeFirst();
    return row ? Number(row.stream_id) : 0;
  }
}
