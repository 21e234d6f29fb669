/**
 * What RoomService and MembershipService share when they change a room: the audited stream-writer
 * job, the room-version cache, the administrator's block, and member events with their audit record.
 * One instance serves both, so they share one version cache.
 */
import { MatrixError, isSupportedRoomVersion, parseUserId, type RoomVersion } from '@caduceus/core';
import type { Config } from '../../config/config.ts';
import type { AuditTrail } from '../../compliance/audit/index.ts';
import type { Stores } from '../../storage/index.ts';
import type { StreamWriter, WriteContext, WriteOptions } from '../stream-writer.ts';
import { roomBlockedError, type EventAppender } from './append.ts';

export type Membership = 'join' | 'invite' | 'leave' | 'ban';

export class RoomWriter {
  readonly #config: Config;
  readonly #stores: Stores;
  readonly #writer: StreamWriter;
  readonly #audit: AuditTrail;
  /** Appends and authorises events; RoomService uses it directly for non-member events. */
  readonly appender: EventAppender;
  /** Room versions never change once a room exists. */
  readonly #versions = new Map<string, RoomVersion>();

  constructor(config: Config, stores: Stores, writer: StreamWriter, appender: EventAppender, audit: AuditTrail) {
    this.#config = config;
    this.#stores = stores;
    this.#writer = writer;
    this.appender = appender;
    this.#audit = audit;
  }

  /**
   * A stream-writer job for an audited room action. A refusal (403 M_FORBIDDEN: the auth rules, power
   * levels, membership) rolls the job back, so it is recorded on its own, as refused, before the
   * caller hears of it.
   */
  async write<T>(action: string, target: Record<string, string>, work: (ctx: WriteContext) => Promise<T>, options?: WriteOptions): Promise<T> {
    try {
      return await this.#writer.write(work, options);
    } catch (err) {
      if (err instanceof MatrixError && (err.errcode === 'M_FORBIDDEN' || err.errcode === 'M_CANNOT_LEAVE_SERVER_NOTICE_ROOM')) {
        await this.#audit.record({ action, outcome: 'refused', target, details: { errcode: err.errcode, reason: err.message.slice(0, 200) } });
      }
      throw err;
    }
  }

  /** A stream-writer job that is not audited as a room action (forgetting a room). */
  async writeUnaudited(work: (ctx: WriteContext) => Promise<void>): Promise<void> {
    await this.#writer.write(work);
  }

  /** Appends a member event for `target` and records the change in the same write. */
  async appendMembership(ctx: WriteContext, version: RoomVersion, roomId: string, sender: string, target: string, membership: Membership, reason?: string) {
    const profile = membership === 'join' || membership === 'invite' ? await this.profileContent(ctx.stores, target) : {};
    const { event } = await this.appender.append(
      ctx,
      { roomId, type: 'm.room.member', stateKey: target, sender, content: { membership, ...profile, ...(reason !== undefined ? { reason } : {}) } },
      version,
    );
    await this.recordMembership(ctx, event.event_id, roomId, target, membership);
  }

  /** A membership change, on record in the same write (the actor is the caller; the target, whose membership changed). */
  async recordMembership(ctx: WriteContext, eventId: string, roomId: string, userId: string, membership: Membership) {
    await this.#audit.record({ action: 'room.member', outcome: 'success', target: { roomId, userId, eventId }, details: { membership } }, ctx.stores);
  }

  async profileContent(stores: Stores, userId: string): Promise<Record<string, unknown>> {
    const user = await stores.users.get(userId);
    return {
      ...(user?.displayname ? { displayname: user.displayname } : {}),
      ...(user?.avatarUrl ? { avatar_url: user.avatarUrl } : {}),
    };
  }

  /** An administrator blocked the room: nobody new comes in and nothing new is said (leaving still works). */
  async refuseIfBlocked(ctx: WriteContext, roomId: string): Promise<void> {
    if (await ctx.stores.rooms.isBlocked(roomId)) throw roomBlockedError();
  }

  /** The room's version; rooms this server does not know are reported the same as rooms one is not in. */
  async version(ctx: WriteContext, roomId: string, forJoin = false): Promise<RoomVersion> {
    const known = this.#versions.get(roomId);
    if (known) return known;
    const room = await ctx.stores.rooms.get(roomId);
    if (!room || !isSupportedRoomVersion(room.roomVersion)) {
      throw forJoin ? new MatrixError('M_NOT_FOUND', 'No such room') : new MatrixError('M_FORBIDDEN', 'You are not in this room');
    }
    if (this.#versions.size >= 100_000) this.#versions.clear();
    this.#versions.set(roomId, room.roomVersion);
    return room.roomVersion;
  }

  /** Only active users of this server can be invited (federation is not enabled). */
  async checkLocalUser(userId: string) {
    const parsed = parseUserId(userId);
    if (!parsed) throw new MatrixError('M_INVALID_PARAM', 'Not a valid user id');
    if (parsed.serverName !== this.#config.serverName) throw new MatrixError('M_FORBIDDEN', 'Users of other servers cannot be invited: federation is not enabled');
    const user = await this.#stores.users.get(userId);
    if (!user || user.deactivated) throw new MatrixError('M_NOT_FOUND', 'No such user');
  }
}
