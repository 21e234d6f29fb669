/** Server-wide settings kept in the database (name → JSON text), e.g. the organisation policies an administrator changed. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface SettingsStore {
  /** Every setting whose name starts with `prefix`, values still JSON text. */
  withPrefix(prefix: string): Promise<Map<string, string>>;
  set(name: string, value: string): Promise<void>;
  delete(name: string): Promise<void>;
}

export class KyselySettingsStore implements SettingsStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async withPrefix(prefix: string) {
    // Prefixes are plain names (no % or _), so LIKE needs no escaping.
    const rows = await this.#db.selectFrom('server_settings').select(['name', 'value']).where('name', 'like', `${prefix}%`).execute();
    return new Map(rows.map((r) => [r.name, r.value]));
  }

  async set(name: string, value: string) {
    await this.#db
      .insertInto('server_settings')
      .values({ name, value })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value }))
      .execute();
  }

  async delete(name: string) {
    await this.#db.deleteFrom('server_settings').where('name', '=', name).execute();
  }
}
