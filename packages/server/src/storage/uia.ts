/** User-interactive authentication sessions (spec: "User-Interactive Authentication API"). */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface UiaSessionRecord {
  sessionId: string;
  purpose: string;
  userId: string | null;
  completed: string[];
  state: Record<string, unknown>;
  createdTs: number;
}

export interface UiaStore {
  create(session: UiaSessionRecord): Promise<void>;
  get(sessionId: string): Promise<UiaSessionRecord | undefined>;
  update(sessionId: string, completed: string[], state: Record<string, unknown>): Promise<void>;
  delete(sessionId: string): Promise<void>;
  deleteOlderThan(ts: number): Promise<void>;
}

export class KyselyUiaStore implements UiaStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async create(s: UiaSessionRecord) {
    await this.#db
      .insertInto('uia_sessions')
      .values({ session_id: s.sessionId, purpose: s.purpose, user_id: s.userId, completed: JSON.stringify(s.completed), state: JSON.stringify(s.state), created_ts: s.createdTs })
      .execute();
  }

  async get(sessionId: string) {
    const row = await this.#db.selectFrom('uia_sessions').selectAll().where('session_id', '=', sessionId).executeTakeFirst();
    return (
      row && {
        sessionId: row.session_id,
        purpose: row.purpose,
        userId: row.user_id,
        completed: JSON.parse(row.completed) as string[],
        state: JSON.parse(row.state) as Record<string, unknown>,
        createdTs: row.created_ts,
      }
    );
  }

  async update(sessionId: string, completed: string[], state: Record<string, unknown>) {
    await this.#db
      .updateTable('uia_sessions')
      .set({ completed: JSON.stringify(completed), state: JSON.stringify(state) })
      .where('session_id', '=', sessionId)
      .execute();
  }

  async delete(sessionId: string) {
    await this.#db.deleteFrom('uia_sessions').where('session_id', '=', sessionId).execute();
  }

  async deleteOlderThan(ts: number) {
    await this.#db.deleteFrom('uia_sessions').where('created_ts', '<', ts).execute();
  }
}
