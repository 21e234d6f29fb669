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
  /**
   * Records that `eventId` in `roomId` references those of `mediaIds` that `uploaderId` uploaded
   * (anyone else's are ignored), and sets their room where none is set yet. Returns the ids linked.
   */
  linkToEvent(uploaderId: string, mediaIds: readonly string[], roomId: string, eventId: string, now: number): Promise<string[]>;
  /** Every event that references a media id (media.room_id tells the first room). */
  referencesOf(mediaId: string): Promise<MediaReference[]>;
  /** The media ids the event references that no other event references (what removing it may delete). */
  mediaOnlyReferencedBy(eventId: string): Promise<string[]>;
}

export interface MediaReference {
  mediaId: string;
  roomId: string;
  eventId: string;
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

  async linkToEvent(uploaderId: string, mediaIds: readonly string[], roomId: string, eventId: string, now: number) {
    if (mediaIds.length === 0) return [];
    const own = await this.#db
      .selectFrom('media')
      .select('media_id')
      .where('media_id', 'in', [...mediaIds])
      .where('user_id', '=', uploaderId)
      .execute();
    const ids = own.map((r) => r.media_id);
    if (ids.length === 0) return [];
    await this.#db
      .insertInto('media_references')
      .values(ids.map((mediaId) => ({ media_id: mediaId, room_id: roomId, event_id: eventId, created_ts: now })))
      .onConflict((oc) => oc.columns(['media_id', 'event_id']).doNothing())
      .execute();
    await this.#db.updateTable('media').set({ room_id: roomId }).where('media_id', 'in', ids).where('room_id', 'is', null).execute();
    return ids;
  }

  async referencesOf(mediaId: string) {
    const rows = await this.#db
      .selectFrom('media_references')
      .select(['media_id', 'room_id', 'event_id'])
      .where('media_id', '=', mediaId)
      .orderBy('room_id')
      .orderBy('event_id')
      .execute();
    return rows.map((r) => ({ mediaId: r.media_id, roomId: r.room_id, eventId: r.event_id }));
  }

  async mediaOnlyReferencedBy(eventId: string) {
    const rows = await this.#db
      .selectFrom('media_references as mine')
      .select('mine.media_id')
      .where('mine.event_id', '=', eventId)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('media_references as other').select('other.media_id').whereRef('other.media_id', '=', 'mine.media_id').where('other.event_id', '!=', eventId))),
      )
      .orderBy('mine.media_id')
      .execute();
    return rows.map((r) => r.media_id);
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
