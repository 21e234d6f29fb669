/**
 * Links uploads to the events that use them, so redaction and retention can later remove media
 * together with the messages (storage: media_references, media.room_id).
 *
 * What the server can see: in a plaintext event, every mxc:// URI of this server anywhere in the
 * content (`url`, `info.thumbnail_url`, `file.url` and `info.thumbnail_file.url` of an encrypted
 * attachment sent in clear, `m.new_content` of an edit, <img src> in `formatted_body`, a room avatar).
 * In an encrypted room the content is ciphertext: the server cannot see which upload a message carries,
 * and guessing (say, "the uploader's next event") would link the wrong messages. There the link
 * exists only when the client declares it when sending, as MSC3911 proposes (`attach_media`);
 * matrix-js-sdk does not do this yet, so media sent into encrypted rooms stays unlinked (room_id null).
 *
 * Only the uploader's own media is linked by their events: naming someone else's mxc:// URI neither
 * moves that media into your room nor ties its lifetime to your message.
 */
import { MatrixError, type PersistedEvent } from '@caduceus/core';
import type { WriteContext } from './stream-writer.ts';

/** More media than this in one event is not linked beyond the first ones (an event is ≤ 64 KiB anyway). */
export const MAX_MEDIA_PER_EVENT = 50;

/** The media ids of this server named by mxc:// URIs anywhere in `content`'s string values. */
export function mediaIdsIn(content: unknown, serverName: string): string[] {
  const found = new Set<string>();
  const pattern = new RegExp(`mxc://${escapeRegExp(serverName)}/([A-Za-z0-9_-]{1,255})(?![A-Za-z0-9_-])`, 'g');
  const visit = (value: unknown, depth: number) => {
    if (found.size >= MAX_MEDIA_PER_EVENT || depth > 32) return;
    if (typeof value === 'string') {
      if (!value.includes('mxc://')) return;
      for (const match of value.matchAll(pattern)) {
        found.add(match[1]!);
        if (found.size >= MAX_MEDIA_PER_EVENT) return;
      }
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item, depth + 1);
    } else if (typeof value === 'object' && value !== null) {
      for (const item of Object.values(value)) visit(item, depth + 1);
    }
  };
  visit(content, 0);
  return [...found];
}

/**
 * Records the uploads `event` references (visible in its content, plus any the sender declared),
 * inside the write job that appended it. Returns the media ids linked.
 */
export async function linkEventMedia(ctx: WriteContext, serverName: string, event: PersistedEvent, declared: readonly string[] = [], now: number): Promise<string[]> {
  const ids = [...new Set([...mediaIdsIn(event.content, serverName), ...declared])].slice(0, MAX_MEDIA_PER_EVENT);
  if (ids.length === 0) return [];
  return ctx.stores.media.linkToEvent(event.sender, ids, event.room_id, event.event_id, now);
}

/** Query parameter of PUT /send (MSC3911, unstable name): mxc:// URIs the event carries, repeatable. */
export const ATTACH_MEDIA_PARAM = 'org.matrix.msc3911.attach_media';
/** Declared attachments per event (MSC3911 leaves the bound to servers). */
export const MAX_ATTACHED_MEDIA = 20;

/**
 * The media ids of attachments a sender declares (MSC3911), checked before anything is written: each
 * must be an mxc:// URI of this server naming media the sender uploaded, else 400 M_INVALID_PARAM.
 * Unlike MSC3911 a media id may be attached to several events (forwarding the same file).
 */
export async function checkDeclaredMedia(ctx: WriteContext, serverName: string, senderId: string, uris: readonly string[]): Promise<string[]> {
  if (uris.length > MAX_ATTACHED_MEDIA) throw new MatrixError('M_INVALID_PARAM', `At most ${MAX_ATTACHED_MEDIA} media may be attached to one event`);
  const prefix = `mxc://${serverName}/`;
  const ids = new Set<string>();
  for (const uri of uris) {
    const mediaId = uri.startsWith(prefix) ? uri.slice(prefix.length) : '';
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(mediaId)) throw new MatrixError('M_INVALID_PARAM', 'attach_media must name media of this server (mxc://…)');
    const record = await ctx.stores.media.get(mediaId);
    if (!record || record.userId !== senderId) throw new MatrixError('M_INVALID_PARAM', 'Only media you uploaded can be attached');
    ids.add(mediaId);
  }
  return [...ids];
}

function escapeRegExp(text: string) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
