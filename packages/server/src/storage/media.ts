/**
 * Metadata of the media repository. The bytes are files named by their sha256 (see
 * services/media.ts); a row says who uploaded what under which media id.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface MediaRecord {
  mediaId: string;
  serverName: string;
  userId: string;
  /** null while a /create'd media id waits for its content. */
  sha256: string | null;
  contentType: string | null;
  uploadName: string | null;
  size: number | null;
  createdTs: number;
  uploadedTs: number | null;
  /** For a /create'd media id not yet uploaded: when the reservation lapses. */
  unusedExpiresTs: number | null;
  roomId: string | null;
}

export interface MediaContent {
  sha256: string;
  contentType: string;
  uploadName: string | null;
  size: number;
  uploadedTs: number;
}

export interface MediaStore {
  get(mediaId: string): Promise<MediaRecord | undefined>;
  /** Inserts a row; false when the media id is taken (the caller picks another). */
  insert(record: MediaRecord): Promise<boolean>;
  /** Fills in the content of a reserved media id; false if it already has content (exactly one upload wins). */
  setContent(mediaId: string, content: MediaContent): Promise<boolean>;
  /** Reserved, not yet uploaded media ids of a user whose reservation is still running. */
  countPending(userId: string, now: number): Promise<number>;
}

type Row = Database['media'];

const toRecord = (row: Row): MediaRecord => ({
  mediaId: row.media_id,
  serverName: row.server_name,
  userId: row.user_id,
  sha256: row.sha256,
  contentType: row.content_type,
  uploadName: row.upload_name,
  size: row.size === null ? null : Number(row.size),
  createdTs: Number(row.created_ts),
  uploadedTs: row.uploaded_ts === null ? null : Number(row.uploaded_ts),
  unusedExpiresTs: row.unused_expires_ts === null ? null : Number(row.unused_expires_ts),
  roomId: row.room_id,
});

export class KyselyMediaStore implements MediaStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async get(mediaId: string) {
    const row = await this.#db.selectFrom('media').selectAll().where('media_id', '=', mediaId).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async insert(r: MediaRecord) {
    const result = await this.#db
      .insertInto('media')
      .values({
        media_id: r.mediaId,
        server_name: r.serverName,
        user_id: r.userId,
        sha256: r.sha256,
        content_type: r.contentType,
        upload_name: r.uploadName,
        size: r.size,
        created_ts: r.createdTs,
        uploaded_ts: r.uploadedTs,
        unused_expires_ts: r.unusedExpiresTs,
        room_id: r.roomId,
      })
      .onConflict((oc) => oc.column('media_id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async setContent(mediaId: string, c: MediaContent) {
    const result = await this.#db
      .updateTable('media')
      .set({ sha256: c.sha256, content_type: c.contentType, upload_name: c.uploadName, size: c.size, uploaded_ts: c.uploadedTs, unused_expires_ts: null })
      .where('media_id', '=', mediaId)
      .where('sha256', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async countPending(userId: string, now: number) {
    const row = await this.#db
      .selectFrom('media')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('user_id', '=', userId)
      .where('sha256', 'is', null)
      .where('unused_expires_ts', '>', now)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
