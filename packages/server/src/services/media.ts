/**
 * The media repository (spec: "Content repository", authenticated media v1.11).
 * Uploads are streamed to a temporary file in <data_dir>/media/tmp while being counted and hashed,
 * refused as soon as they pass the size limit, then moved to <data_dir>/media/<aa>/<bb>/<sha256>:
 * content-addressed, so identical bytes are stored once. The database row maps the media id to them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MatrixError, forbidden, notFound } from '@caduceus/core';
import type { MediaRecord } from '../storage/media.ts';
import type { Principal } from './sessions.ts';
import type { ServiceDeps } from './index.ts';

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
export const MEDIA_ID_LENGTH = 24;
export const MEDIA_ID_PATTERN = '^[A-Za-z0-9_-]{1,255}$';
/** How long a /create'd media id waits for its content. */
export const UNUSED_EXPIRY_MS = 24 * 60 * 60 * 1000;
/** Reserved, not yet uploaded media ids a user may hold at once. */
export const MAX_PENDING_PER_USER = 50;
/** Longest a download waits for a /create'd media id to be uploaded. */
export const MAX_DOWNLOAD_WAIT_MS = 20_000;

/** 64 symbols, so a byte's low 6 bits pick one with no bias. */
export function newMediaId(): string {
  let id = '';
  for (const byte of randomBytes(MEDIA_ID_LENGTH)) id += ID_ALPHABET[byte & 63];
  return id;
}

/** The media type of a Content-Type header, lower-cased, with only a charset parameter kept; octet-stream when unusable. */
export function normaliseContentType(header: string | undefined): string {
  if (!header) return 'application/octet-stream';
  const [essence = '', ...params] = header.split(';').map((part) => part.trim());
  const type = essence.toLowerCase();
  if (!/^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/.test(type)) return 'application/octet-stream';
  const charset = params.map((p) => /^charset="?([A-Za-z0-9_.:-]{1,40})"?$/i.exec(p)?.[1]).find(Boolean);
  return charset ? `${type}; charset=${charset.toLowerCase()}` : type;
}

/** A file name as given by the client: browsers may URI-encode it twice; control characters and path parts are dropped. */
export function normaliseFileName(name: string | undefined): string | null {
  if (name === undefined) return null;
  let value = name;
  if (/%[0-9A-Fa-f]{2}/.test(value)) {
    try {
      value = decodeURIComponent(value);
    } catch {
      // not encoded after all
    }
  }
  value = value.replace(/[\u0000-\u001f\u007f]/g, '').replace(/^.*[/\\]/, '').trim().slice(0, 255);
  return value === '' ? null : value;
}

/**
 * Types a browser may show inline without running anything: no HTML, no SVG, no XML, no scripts.
 * Everything else is served as an attachment.
 */
const INLINE_TYPES = new Set([
  'text/plain', 'text/csv',
  'application/json', 'application/ld+json',
  'image/jpeg', 'image/gif', 'image/png', 'image/apng', 'image/webp', 'image/avif',
  'video/mp4', 'video/webm', 'video/ogg', 'video/quicktime',
  'audio/mp4', 'audio/webm', 'audio/aac', 'audio/mpeg', 'audio/ogg', 'audio/wave', 'audio/wav', 'audio/x-wav', 'audio/x-pn-wav', 'audio/flac', 'audio/x-flac',
]);

export function isInlineType(contentType: string): boolean {
  return INLINE_TYPES.has(contentType.split(';')[0]!.trim());
}

/** RFC 6266 / 5987: an ASCII fallback name plus the exact name as filename*. */
export function contentDisposition(contentType: string, fileName: string | null): string {
  const kind = isInlineType(contentType) ? 'inline' : 'attachment';
  if (!fileName) return kind;
  const ascii = fileName.replace(/[^A-Za-z0-9 ._()-]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

export interface MediaDownload {
  stream: ReadStream;
  contentType: string;
  fileName: string | null;
  size: number;
}

export class MediaService {
  readonly #deps: ServiceDeps;
  readonly #root: string;
  readonly #tmp: string;

  constructor(deps: ServiceDeps) {
    this.#deps = deps;
    this.#root = join(deps.config.dataDir, 'media');
    this.#tmp = join(this.#root, 'tmp');
  }

  get maxUploadBytes() {
    return this.#deps.config.maxUploadBytes;
  }

  /** Where the bytes with this sha256 live. */
  pathOf(sha256: string): string {
    return join(this.#root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  /**
   * Deletes the bytes with this sha256 and every thumbnail made from them (retention and redaction;
   * the caller has checked that no media row names them any more).
   */
  async deleteContent(sha256: string): Promise<void> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) return;
    await rm(this.pathOf(sha256), { force: true });
    const thumbnails = join(this.#root, 'thumbnails', sha256.slice(0, 2));
    const names = await readdir(thumbnails).catch(() => [] as string[]);
    for (const name of names) if (name.startsWith(`${sha256}-`)) await rm(join(thumbnails, name), { force: true });
  }

  #mxc(mediaId: string) {
    return `mxc://${this.#deps.config.serverName}/${mediaId}`;
  }

  /** Refuses a body whose declared length is over the limit before reading any of it. */
  checkDeclaredLength(contentLength: string | undefined) {
    if (contentLength !== undefined && Number(contentLength) > this.maxUploadBytes) throw this.#tooLarge();
  }

  #tooLarge() {
    return new MatrixError('M_TOO_LARGE', `Uploads may be at most ${this.maxUploadBytes} bytes`);
  }

  /** Streams `body` to disk under its sha256; on any failure (too large, client gone) nothing is left behind. */
  async #store(body: Readable): Promise<{ sha256: string; size: number }> {
    await mkdir(this.#tmp, { recursive: true, mode: 0o700 });
    const tmpPath = join(this.#tmp, `${newMediaId()}.part`);
    const hash = createHash('sha256');
    const limit = this.maxUploadBytes;
    let size = 0;
    const meter = new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        size += chunk.length;
        if (size > limit) return done(this.#tooLarge());
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      // flush: the bytes reach the disk before the file is renamed into place.
      await pipeline(body, meter, createWriteStream(tmpPath, { flags: 'wx', mode: 0o600, flush: true }));
    } catch (err) {
      await rm(tmpPath, { force: true });
      throw err;
    }
    const sha256 = hash.digest('hex');
    const target = this.pathOf(sha256);
    try {
      await mkdir(join(target, '..'), { recursive: true, mode: 0o700 });
      const existing = await stat(target).catch(() => undefined);
      if (existing?.isFile() && existing.size === size) await rm(tmpPath, { force: true });
      else await rename(tmpPath, target);
    } catch (err) {
      await rm(tmpPath, { force: true });
      throw err;
    }
    return { sha256, size };
  }

  /** POST /_matrix/media/v3/upload */
  async upload(who: Principal, body: Readable, contentType: string | undefined, fileName: string | undefined) {
    const { sha256, size } = await this.#store(body);
    const now = this.#deps.clock.now();
    const mediaId = await this.#insertWithFreshId({
      userId: who.userId,
      sha256,
      contentType: normaliseContentType(contentType),
      uploadName: normaliseFileName(fileName),
      size,
      createdTs: now,
      uploadedTs: now,
      unusedExpiresTs: null,
      roomId: null,
    });
    return { content_uri: this.#mxc(mediaId) };
  }

  /** Stores a media row under a new random id (drawing again in the unlikely case of a clash). */
  async #insertWithFreshId(row: Omit<MediaRecord, 'mediaId' | 'serverName'>): Promise<string> {
    for (;;) {
      const mediaId = newMediaId();
      if (await this.#deps.storage.media.insert({ ...row, mediaId, serverName: this.#deps.config.serverName })) return mediaId;
    }
  }

  /** POST /_matrix/media/v1/create */
  async create(who: Principal) {
    const now = this.#deps.clock.now();
    if ((await this.#deps.storage.media.countPending(who.userId, now)) >= MAX_PENDING_PER_USER) {
      throw new MatrixError('M_LIMIT_EXCEEDED', 'Too many media ids are waiting for their content');
    }
    const expires = now + UNUSED_EXPIRY_MS;
    const mediaId = await this.#insertWithFreshId({
      userId: who.userId,
      sha256: null,
      contentType: null,
      uploadName: null,
      size: null,
      createdTs: now,
      uploadedTs: null,
      unusedExpiresTs: expires,
      roomId: null,
    });
    return { content_uri: this.#mxc(mediaId), unused_expires_at: expires };
  }

  /** Checks a PUT /_matrix/media/v3/upload/{serverName}/{mediaId} before its body is read. */
  async checkUploadTo(who: Principal, serverName: string, mediaId: string): Promise<MediaRecord> {
    const record = serverName === this.#deps.config.serverName ? await this.#deps.storage.media.get(mediaId) : undefined;
    if (!record) throw notFound('Unknown media id');
    if (record.userId !== who.userId) throw forbidden('This media id was created by another user');
    if (record.sha256 !== null) throw new MatrixError('M_CANNOT_OVERWRITE_MEDIA', 'This media has already been uploaded');
    if (record.unusedExpiresTs !== null && record.unusedExpiresTs <= this.#deps.clock.now()) throw notFound('This media id has expired');
    return record;
  }

  /** PUT /_matrix/media/v3/upload/{serverName}/{mediaId} */
  async uploadTo(who: Principal, serverName: string, mediaId: string, body: Readable, contentType: string | undefined, fileName: string | undefined) {
    await this.checkUploadTo(who, serverName, mediaId);
    const { sha256, size } = await this.#store(body);
    const set = await this.#deps.storage.media.setContent(mediaId, {
      sha256,
      size,
      contentType: normaliseContentType(contentType),
      uploadName: normaliseFileName(fileName),
      uploadedTs: this.#deps.clock.now(),
    });
    if (!set) throw new MatrixError('M_CANNOT_OVERWRITE_MEDIA', 'This media has already been uploaded');
    return {};
  }

  /** The uploaded media behind an id of this server, waiting up to `timeoutMs` for a /create'd id to get its content. */
  async #uploaded(serverName: string, mediaId: string, timeoutMs: number): Promise<MediaRecord & { sha256: string }> {
    if (serverName !== this.#deps.config.serverName) throw notFound('Media not found');
    let record = await this.#deps.storage.media.get(mediaId);
    const deadline = Date.now() + Math.min(Math.max(timeoutMs, 0), MAX_DOWNLOAD_WAIT_MS);
    while (record && record.sha256 === null) {
      if (record.unusedExpiresTs !== null && record.unusedExpiresTs <= this.#deps.clock.now()) break;
      if (Date.now() >= deadline) throw new MatrixError('M_NOT_YET_UPLOADED', 'This media has not been uploaded yet');
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, Math.max(1, deadline - Date.now()))));
      record = await this.#deps.storage.media.get(mediaId);
    }
    if (!record || record.sha256 === null) throw notFound('Media not found');
    return record as MediaRecord & { sha256: string };
  }

  /** GET /_matrix/client/v1/media/download/{serverName}/{mediaId}: only media of this server, only to its signed-in users. */
  async download(serverName: string, mediaId: string, timeoutMs: number): Promise<MediaDownload> {
    const record = await this.#uploaded(serverName, mediaId, timeoutMs);
    await this.#deps.audit.recordReads('media', [{ mediaId: `mxc://${serverName}/${mediaId}` }]);
    const stream = await openFile(this.pathOf(record.sha256));
    return { stream, contentType: record.contentType ?? 'application/octet-stream', fileName: record.uploadName, size: record.size ?? 0 };
  }

  /**
   * GET /_matrix/client/v1/media/thumbnail/{serverName}/{mediaId}: for unencrypted raster images
   * only (encrypted media is opaque bytes to the server). The request is rounded to one of a few
   * standard sizes, and each thumbnail is made once and kept next to the content, named by its sha256.
   * Metadata (EXIF: camera, place) is not copied into thumbnails.
   */
  async thumbnail(serverName: string, mediaId: string, request: { width: number; height: number; method: 'crop' | 'scale' }, timeoutMs: number): Promise<MediaDownload> {
    const record = await this.#uploaded(serverName, mediaId, timeoutMs);
    await this.#deps.audit.recordReads('media', [{ mediaId: `mxc://${serverName}/${mediaId}` }]);
    const type = (record.contentType ?? '').split(';')[0]!;
    if (!THUMBNAIL_SOURCE_TYPES.has(type)) throw cannotThumbnail();
    const size = pickThumbnailSize(request);
    const png = type === 'image/png' || type === 'image/gif' || type === 'image/webp';
    const contentType = png ? 'image/png' : 'image/jpeg';
    const path = join(this.#root, 'thumbnails', record.sha256.slice(0, 2), `${record.sha256}-${size.width}x${size.height}-${size.method}.${png ? 'png' : 'jpg'}`);
    const existing = await stat(path).catch(() => undefined);
    if (!existing?.isFile()) {
      let image: Buffer;
      try {
        const { default: sharp } = await import('sharp');
        const pipeline = sharp(this.pathOf(record.sha256), { limitInputPixels: MAX_THUMBNAIL_SOURCE_PIXELS, failOn: 'error' })
          .rotate()
          .resize(size.width, size.height, { fit: size.method === 'crop' ? 'cover' : 'inside', withoutEnlargement: true });
        image = await (png ? pipeline.png() : pipeline.jpeg({ quality: 80 })).toBuffer();
      } catch {
        throw cannotThumbnail();
      }
      await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
      const tmpPath = join(this.#tmp, `${newMediaId()}.thumb`);
      await mkdir(this.#tmp, { recursive: true, mode: 0o700 });
      await writeFile(tmpPath, image, { mode: 0o600, flag: 'wx' });
      await rename(tmpPath, path);
    }
    const stream = await openFile(path);
    const { size: bytes } = await stat(path);
    return { stream, contentType, fileName: `thumbnail.${png ? 'png' : 'jpg'}`, size: bytes };
  }
}

/** Raster images a thumbnail is made from (never SVG: it can carry scripts and external references). */
const THUMBNAIL_SOURCE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);
/** Larger images are not thumbnailed (decompression bombs). */
const MAX_THUMBNAIL_SOURCE_PIXELS = 50_000_000;

/** The standard thumbnail sizes (as other homeservers offer them); a request gets the smallest that covers it. */
export const THUMBNAIL_SIZES = [
  { width: 32, height: 32, method: 'crop' },
  { width: 96, height: 96, method: 'crop' },
  { width: 320, height: 240, method: 'scale' },
  { width: 640, height: 480, method: 'scale' },
  { width: 800, height: 600, method: 'scale' },
] as const;

export function pickThumbnailSize(request: { width: number; height: number; method: 'crop' | 'scale' }) {
  const fits = THUMBNAIL_SIZES.filter((s) => s.width >= request.width && s.height >= request.height);
  const sameMethod = fits.find((s) => s.method === request.method);
  return sameMethod ?? fits[0] ?? THUMBNAIL_SIZES[THUMBNAIL_SIZES.length - 1]!;
}

const cannotThumbnail = () => new MatrixError('M_UNKNOWN', 'Cannot make a thumbnail of this media', { status: 400 });

/** Opens a stored file for streaming; a missing file is 404. */
async function openFile(path: string): Promise<ReadStream> {
  const stream = createReadStream(path);
  try {
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
  } catch {
    stream.destroy();
    throw notFound('Media not found');
  }
  return stream;
}
