/**
 * Room membership as members change it: join, invite, leave, kick, ban, unban and forget (spec:
 * "Room membership"). Reached through RoomService, which the routes call.
 */
import { MatrixError, isValidRoomId } from '@caduceus/core';
import type { Stores } from '../../storage/index.ts';
import type { ContactPolicyService } from '../contact-policy.ts';
import type { Principal } from '../sessions.ts';
import { parseEvent } from './append.ts';
import type { RoomWriter } from './room-writer.ts';

export class MembershipService {
  readonly #stores: Stores;
  readonly #rooms: RoomWriter;
  /** Who may invite or join whom; refusals are audited there. */
  readonly #contactPolicy: ContactPolicyService;

  constructor(stores: Stores, rooms: RoomWriter, contactPolicy: ContactPolicyService) {
    this.#stores = stores;
    this.#rooms = rooms;
    this.#contactPolicy = contactPolicy;
  }

  /** POST /join/{roomIdOrAlias} and /rooms/{roomId}/join */
  async join(principal: Principal, roomIdOrAlias: string, reason?: string): Promise<string> {
    const roomId = await this.resolveRoom(roomIdOrAlias);
    const before = await this.#stores.events.currentStateEvent(roomId, 'm.room.member', principal.userId);
    const membershipBefore = before ? parseEvent(before).content.membership : undefined;
    if (membershipBefore !== 'join') await this.#contactPolicy.checkJoin(principal.userId, roomId, membershipBefore === 'invite');
    await this.#rooms.write('room.member', { roomId, userId: principal.userId }, async (ctx) => {
      const version = await this.#rooms.version(ctx, roomId, true);
      const current = await ctx.stores.events.currentStateEvent(roomId, 'm.room.member', principal.userId);
      // Joining again when already joined changes nothing (clients retry joins freely).
      if (current && parseEvent(current).content.membership === 'join') return;
      await this.#rooms.refuseIfBlocked(ctx, roomId);
      await this.#rooms.appendMembership(ctx, version, roomId, principal.userId, principal.userId, 'join', reason);
      await ctx.stores.rooms.unforget(principal.userId, roomId);
    });
    return roomId;
  }

  /** `serverOwned`: the server re-inviting someone to a room it runs (notices), outside the contact policy. */
  async invite(principal: Principal, roomId: string, userId: string, reason?: string, options: { serverOwned?: boolean } = {}): Promise<void> {
    await this.#rooms.checkLocalUser(userId);
    if (!options.serverOwned) await this.#contactPolicy.checkInvite(principal.userId, userId, roomId);
    await this.#rooms.write('room.member', { roomId, userId }, async (ctx) => {
      const version = await this.#rooms.version(ctx, roomId);
      await this.#rooms.refuseIfBlocked(ctx, roomId);
      await this.#rooms.appendMembership(ctx, version, roomId, principal.userId, userId, 'invite', reason);
      await ctx.stores.rooms.unforget(userId, roomId);
    });
  }

  async leave(principal: Principal, roomId: string, reason?: string): Promise<void> {
    await this.#rooms.write('room.member', { roomId, userId: principal.userId }, async (ctx) => {
      // The spec: a user's server notices room can be neither left nor declined.
      if ((await ctx.stores.serverNotices.roomOf(principal.userId)) === roomId) {
        throw new MatrixError('M_CANNOT_LEAVE_SERVER_NOTICE_ROOM', 'This is your server notices room: it cannot be left');
      }
      const version = await this.#rooms.version(ctx, roomId);
      await this.#rooms.appendMembership(ctx, version, roomId, principal.userId, principal.userId, 'leave', reason);
    });
  }

  async kick(principal: Principal, roomId: string, userId: string, reason?: string): Promise<void> {
    await this.#rooms.write('room.member', { roomId, userId }, async (ctx) => {
      const version = await this.#rooms.version(ctx, roomId);
      const current = await ctx.stores.events.currentStateEvent(roomId, 'm.room.member', userId);
      const membership = current ? parseEvent(current).content.membership : undefined;
      if (membership !== 'join' && membership !== 'invite' && membership !== 'knock') {
        throw new MatrixError('M_FORBIDDEN', 'That user is not in the room');
      }
      await this.#rooms.appendMembership(ctx, version, roomId, principal.userId, userId, 'leave', reason);
    });
  }

  async ban(principal: Principal, roomId: string, userId: string, reason?: string): Promise<void> {
    await this.#rooms.write('room.member', { roomId, userId }, async (ctx) => {
      await this.#rooms.appendMembership(ctx, await this.#rooms.version(ctx, roomId), roomId, principal.userId, userId, 'ban', reason);
    });
  }

  async unban(principal: Principal, roomId: string, userId: string, reason?: string): Promise<void> {
    await this.#rooms.write('room.member', { roomId, userId }, async (ctx) => {
      const version = await this.#rooms.version(ctx, roomId);
      const current = await ctx.stores.events.currentStateEvent(roomId, 'm.room.member', userId);
      if (!current || parseEvent(current).content.membership !== 'ban') throw new MatrixError('M_FORBIDDEN', 'That user is not banned');
      await this.#rooms.appendMembership(ctx, version, roomId, principal.userId, userId, 'leave', reason);
    });
  }

  /** POST /rooms/{roomId}/forget: only for rooms the user is no longer in. */
  async forget(principal: Principal, roomId: string): Promise<void> {
    const current = await this.#stores.events.currentStateEvent(roomId, 'm.room.member', principal.userId);
    const membership = current ? parseEvent(current).content.membership : undefined;
    if (membership === undefined) throw new MatrixError('M_NOT_FOUND', 'You have never been in this room');
    if (membership === 'join' || membership === 'invite') {
      throw new MatrixError('M_UNKNOWN', 'Leave the room before forgetting it', { status: 400 });
    }
    // Through the writer: the user's other devices learn at their next sync that the room is gone.
    await this.#rooms.writeUnaudited(async (ctx) => {
      await ctx.stores.rooms.forget(principal.userId, roomId);
      await ctx.nextPosition();
      ctx.touch([], [principal.userId]);
      ctx.mark('memberships', [principal.userId]);
    });
  }

  async joinedRooms(userId: string): Promise<string[]> {
    return (await this.#stores.events.roomsOf(userId)).filter((m) => m.membership === 'join').map((m) => m.roomId);
  }

  /** A room id, or the room an alias names; 404 when neither exists. */
  async resolveRoom(roomIdOrAlias: string): Promise<string> {
    if (roomIdOrAlias.startsWith('#')) {
      const found = await this.#stores.rooms.resolveAlias(roomIdOrAlias);
      if (!found) throw new MatrixError('M_NOT_FOUND', 'No room has that alias');
      return found.roomId;
    }
    if (!isValidRoomId(roomIdOrAlias)) throw new MatrixError('M_INVALID_PARAM', 'Not a room id or alias');
    return roomIdOrAlias;
  }
}
