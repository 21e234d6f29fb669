/**
 * The retention purge: removes expired messages, the leftovers of redactions, media nothing uses any
 * more and stale to-device messages, in small batches.
 *
 * What stays so the room keeps working: state events are never purged (current state, and the past
 * state that membership and history-visibility checks read, and with it every auth chain); the
 * newest event of a room is pruned in place (redaction algorithm: it keeps its id, type, sender and
 * time, and looks redacted to clients, `unsigned.redacted_because` with reason "retention") because
 * the next event builds on it. Every other expired message is deleted outright, with its edits
 * (m.replace events carry the edited text), transaction ids and media links: it is gone from /sync,
 * /messages, /context and /event (404), and pagination simply steps over the gap.
 *
 * Each batch (≤ MAX_BATCH rows, sized to take ~TARGET_BATCH_MS) is one stream-writer job: it commits with whatever sends are queued,
 * under the same locks in the same order (stream, audit chain, rows), so it never holds the database
 * for long and never deadlocks with a send; between batches the job pauses so requests go first.
 * Files are deleted after the commit, and only when no media row names the same bytes.
 * The audit trail gets one entry per room and batch: the ids and counts, never content.
 */
import { redactEvent, type PersistedEvent, type RoomVersion } from '@caduceus/core';
import type { RetentionConfig } from '../../config/config.ts';
import type { Clock } from '../../services/clock.ts';
import type { StreamWriter, WriteContext } from '../../services/stream-writer.ts';
import type { Storage } from '../../storage/index.ts';
import type { ExpiredEvent } from '../../storage/retention.ts';
import type { AuditTrail } from '../audit/index.ts';

/**
 * Rows per transaction: starts at BATCH_SIZE and adapts so a batch holds the writer about
 * TARGET_BATCH_MS (halving when slower, doubling when much faster, within MIN..MAX). Measured
 * (docs/benchmarks.md): fixed 500-row batches held the writer ~60 ms each on a busy 2-core machine and
 * tripled-to-quintupled send p99 during a purge.
 */
export const BATCH_SIZE = 100;
const MIN_BATCH = 10;
const MAX_BATCH = 500;
const TARGET_BATCH_MS = 2.5;
/** Least pause between batches; the job also rests at least as long as its last batch took (≤ 50% duty). */
const PAUSE_MS = 10;
/** Bound on one run (a run that has more to do continues at the next one). */
const MAX_BATCHES_PER_RUN = 10_000;
/** Free SQLite pages given back to the file system per run (4 KiB each). */
const COMPACT_PAGES = 4096;
/** redacted_by of an event pruned by retention (not by a redaction event). */
export const RETENTION_MARKER = 'org.caduceus.retention';

export interface PurgeReport {
  /** False when another server process was running the purge (PostgreSQL). */
  ran: boolean;
  deletedEvents: number;
  prunedEvents: number;
  erasedRedactions: number;
  deletedMedia: number;
  deletedFiles: number;
  deletedToDevice: number;
  batches: number;
}

export interface PurgeDeps {
  retention: RetentionConfig;
  storage: Storage;
  writer: StreamWriter;
  clock: Clock;
  audit: AuditTrail;
  /** Removes stored bytes (and their thumbnails) by content hash. */
  deleteMediaContent(sha256: string): Promise<void>;
}

interface Removal {
  deleted: string[];
  pruned: string[];
  media: Array<{ mediaId: string; sha256: string | null }>;
}

const emptyReport = (): PurgeReport => ({ ran: true, deletedEvents: 0, prunedEvents: 0, erasedRedactions: 0, deletedMedia: 0, deletedFiles: 0, deletedToDevice: 0, batches: 0 });
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(PAUSE_MS, ms)));

export class RetentionPurger {
  readonly #deps: PurgeDeps;
  #running: Promise<PurgeReport> | undefined;

  constructor(deps: PurgeDeps) {
    this.#deps = deps;
  }

  /** One full pass; a call while a pass runs in this process waits for that pass. */
  runOnce(): Promise<PurgeReport> {
    this.#running ??= this.#run().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #run(): Promise<PurgeReport> {
    const report = emptyReport();
    const done = await this.#deps.storage.retention.exclusively(async () => {
      await this.#batches(report, (ctx, size) => this.#expireBatch(ctx, size, report));
      await this.#batches(report, (ctx, size) => this.#eraseBatch(ctx, size, report));
      await this.#toDevice(report);
      if (report.deletedEvents + report.prunedEvents + report.erasedRedactions + report.deletedToDevice > 0) await this.#deps.storage.retention.compact(COMPACT_PAGES);
      return true;
    });
    return done ? report : { ...emptyReport(), ran: false };
  }

  /** Runs batch jobs until one finds less than a full batch; deletes freed files after each commit. */
  async #batches(report: PurgeReport, batch: (ctx: WriteContext, size: number) => Promise<{ found: number; hashes: string[] }>) {
    let size = BATCH_SIZE;
    for (let i = 0; i < MAX_BATCHES_PER_RUN; i++) {
      const started = performance.now();
      const { found, hashes } = await this.#deps.writer.write((ctx) => batch(ctx, size));
      const took = performance.now() - started;
      if (found > 0) report.batches++;
      for (const sha256 of new Set(hashes)) {
        if (await this.#deps.storage.retention.contentInUse(sha256)) continue;
        await this.#deps.deleteMediaContent(sha256);
        report.deletedFiles++;
      }
      if (found < size) return;
      if (took > 2 * TARGET_BATCH_MS) size = Math.max(MIN_BATCH, Math.floor(size / 2));
      else if (took < TARGET_BATCH_MS / 2) size = Math.min(MAX_BATCH, size * 2);
      await pause(took);
    }
  }

  async #expireBatch(ctx: WriteContext, size: number, report: PurgeReport) {
    const expired = await ctx.stores.retention.expiredEvents(this.#deps.clock.now(), size);
    if (expired.length === 0) return { found: 0, hashes: [] };
    const edits = await ctx.stores.retention.editsOf(expired.map((e) => e.eventId));
    const removal = await this.#remove(ctx, [...expired, ...edits]);
    report.deletedEvents += removal.deleted.length;
    report.prunedEvents += removal.pruned.length;
    report.deletedMedia += removal.media.length;
    await this.#record(ctx, 'retention.purge', [...expired, ...edits], removal);
    return { found: expired.length, hashes: hashesOf(removal) };
  }

  /**
   * Redactions past the grace period: the redacted event's content is already gone (pruned when the
   * redaction was appended); here go its edits, the copy of its content in its state successor's
   * unsigned.prev_content, its media links, and any original kept aside under a legal hold.
   */
  async #eraseBatch(ctx: WriteContext, size: number, report: PurgeReport) {
    const { stores } = ctx;
    const due = await stores.retention.dueErasures(this.#deps.clock.now() - this.#deps.retention.redactionGraceMs, size);
    if (due.length === 0) return { found: 0, hashes: [] };
    const ids = due.map((d) => d.eventId);
    for (const id of ids) {
      const successor = await stores.retention.stateSuccessorOf(id);
      if (!successor) continue;
      const unsigned = JSON.parse(successor.unsigned) as Record<string, unknown>;
      if (!('prev_content' in unsigned)) continue;
      delete unsigned.prev_content;
      await stores.retention.setUnsigned(successor.eventId, JSON.stringify(unsigned));
    }
    const edits = await stores.retention.editsOf(ids);
    const linked = await stores.retention.mediaOf(ids);
    await stores.retention.unlinkMedia(ids);
    const removal = await this.#remove(ctx, edits, linked);
    await stores.retention.deleteErasures(ids);
    report.erasedRedactions += due.length;
    report.deletedEvents += removal.deleted.length;
    report.prunedEvents += removal.pruned.length;
    report.deletedMedia += removal.media.length;
    const byRoom = new Map<string, ExpiredEvent[]>();
    for (const d of due) byRoom.set(d.roomId, [...(byRoom.get(d.roomId) ?? []), { streamOrdering: 0, eventId: d.eventId, roomId: d.roomId, sender: d.sender }]);
    for (const [roomId, redacted] of byRoom) {
      const inRoom = edits.filter((e) => e.roomId === roomId).map((e) => e.eventId);
      await this.#audit(ctx, 'retention.erase', roomId, {
        redactions: redacted.length,
        edits: inRoom.length,
        media: removal.media.length,
        event_ids: redacted.map((r) => r.eventId).join(','),
        edit_ids: inRoom.join(','),
      });
    }
    return { found: due.length, hashes: hashesOf(removal) };
  }

  /**
   * Deletes the events, except each room's newest event, which is pruned in place; then the media
   * that only they (or the `alsoMedia` just unlinked) used.
   */
  async #remove(ctx: WriteContext, events: ExpiredEvent[], alsoMedia: readonly string[] = []): Promise<Removal> {
    const { stores } = ctx;
    const unique = [...new Map(events.map((e) => [e.eventId, e])).values()];
    const pruned: string[] = [];
    for (const roomId of new Set(unique.map((e) => e.roomId))) {
      const tip = await stores.events.tip(roomId);
      if (tip && unique.some((e) => e.eventId === tip.eventId)) {
        await this.#prune(ctx, roomId, tip.eventId);
        pruned.push(tip.eventId);
      }
    }
    const deleted = unique.map((e) => e.eventId).filter((id) => !pruned.includes(id));
    const mediaIds = [...new Set([...alsoMedia, ...(await stores.retention.mediaOf([...deleted, ...pruned]))])];
    await stores.retention.unlinkMedia(pruned);
    await stores.retention.deleteEvents(deleted);
    const media = await stores.retention.unreferencedMedia(mediaIds);
    await stores.retention.deleteMedia(media.map((m) => m.mediaId));
    return { deleted, pruned, media };
  }

  /** The room's newest event: content removed by the redaction algorithm, marked redacted by retention. */
  async #prune(ctx: WriteContext, roomId: string, eventId: string) {
    const row = await ctx.stores.events.get(eventId);
    const room = await ctx.stores.rooms.get(roomId);
    if (!row || !room) return;
    const event = JSON.parse(row.json) as PersistedEvent;
    const pruned = redactEvent(event, room.roomVersion as RoomVersion);
    const because = { type: 'm.room.redaction', room_id: roomId, sender: event.sender, origin_server_ts: this.#deps.clock.now(), content: { reason: 'retention' }, redacts: eventId };
    await ctx.stores.retention.pruneEvent(eventId, JSON.stringify(pruned), JSON.stringify({ redacted_because: because }), RETENTION_MARKER);
  }

  async #record(ctx: WriteContext, action: string, events: ExpiredEvent[], removal: Removal) {
    const rooms = new Map<string, ExpiredEvent[]>();
    for (const e of events) rooms.set(e.roomId, [...(rooms.get(e.roomId) ?? []), e]);
    for (const [roomId, inRoom] of rooms) {
      const ids = [...new Set(inRoom.map((e) => e.eventId))];
      const media = removal.media.length;
      await this.#audit(ctx, action, roomId, {
        events: ids.length,
        pruned: ids.filter((id) => removal.pruned.includes(id)).length,
        media_deleted: media,
        event_ids: ids.join(','),
      });
    }
  }

  async #audit(ctx: WriteContext, action: string, roomId: string, details: Record<string, string | number>) {
    // The server acts here, not a person: no actor unless an administrator triggered the run.
    await this.#deps.audit.record({ action, outcome: 'success', target: { roomId }, details }, ctx.stores);
  }

  /** To-device messages nobody collected within the configured age, or whose device is gone. */
  async #toDevice(report: PurgeReport) {
    const { retention, storage, clock } = this.#deps;
    const now = clock.now();
    await storage.retention.markStream(now, await storage.stream.current());
    const maxAge = retention.toDeviceMaxAgeMs;
    const position = maxAge === null ? 0 : await storage.retention.streamPositionAt(now - maxAge);
    for (let i = 0; i < MAX_BATCHES_PER_RUN; i++) {
      const deleted = await storage.retention.deleteStaleToDevice(position, BATCH_SIZE);
      report.deletedToDevice += deleted;
      if (deleted < BATCH_SIZE) break;
      await pause(0);
    }
    if (maxAge !== null) await storage.retention.deleteOldToDeviceTxns(now - maxAge);
  }
}

function hashesOf(removal: Removal): string[] {
  return removal.media.map((m) => m.sha256).filter((h): h is string => h !== null);
}
