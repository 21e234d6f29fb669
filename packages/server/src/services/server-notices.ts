/**
 * Server notices (spec: "Server Notices" module): the server tells a user something in an official
 * capacity — an account lockout for the security officers, a maintenance window for everyone.
 *
 * Notices come from a system user, `@server-notices:<server>`, created on demand without a password
 * (nobody can sign in as it; its name cannot be registered). Each user has exactly one notices room,
 * tagged `m.server_notice` for them; the user is invited (as the spec asks), and joins to read. Only
 * the system user may post there. Notices are `m.room.message` events with `msgtype: m.server_notice`,
 * in plaintext even when encryption is required: the server writes them, so it knows them anyway;
 * callers must keep patient information out of them.
 */
import { MatrixError, userId as makeUserId, type Role } from '@caduceus/core';
import type { Storage } from '../storage/index.ts';
import type { AuditTrail } from '../compliance/audit/index.ts';
import type { Clock } from './clock.ts';
import type { ServiceDeps } from './index.ts';
import { parseEvent } from './rooms/append.ts';
import type { RoomService } from './rooms/rooms.ts';
import { randomString } from './secrets.ts';
import type { Principal } from './sessions.ts';
import type { StreamWriter } from './stream-writer.ts';

export const SERVER_NOTICES_LOCALPART = 'server-notices';
export const SERVER_NOTICE_TAG = 'm.server_notice';
/** What our notices are about when the caller does not say (the spec defines only usage limits). */
export const GENERAL_NOTICE_TYPE = 'org.caduceus.notice';

export interface NoticeOptions {
  /** `server_notice_type` of the event, e.g. `org.caduceus.account_locked`. */
  type?: string;
}

/** The system user's own device id, for the idempotency records of its sends. */
const SYSTEM_DEVICE = 'SERVER';

export class ServerNoticesService {
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #writer: StreamWriter;
  readonly #audit: AuditTrail;
  readonly #rooms: RoomService;
  readonly #system: Principal;
  /** One room creation per user at a time in this process. */
  readonly #pending = new Map<string, Promise<string>>();
  #systemReady = false;

  constructor(deps: ServiceDeps, rooms: RoomService) {
    this.#storage = deps.storage;
    this.#clock = deps.clock;
    this.#writer = deps.writer;
    this.#audit = deps.audit;
    this.#rooms = rooms;
    this.#system = { userId: makeUserId(SERVER_NOTICES_LOCALPART, deps.config.serverName), deviceId: SYSTEM_DEVICE };
  }

  get systemUserId(): string {
    return this.#system.userId;
  }

  /** Sends a notice to one user; returns the event id. */
  async sendToUser(userId: string, body: string, options: NoticeOptions = {}): Promise<string> {
    if (body.length === 0) throw new MatrixError('M_INVALID_PARAM', 'A notice needs a body');
    if (userId === this.#system.userId) throw new MatrixError('M_INVALID_PARAM', 'The server notices user does not receive notices');
    const user = await this.#storage.users.get(userId);
    if (!user || user.deactivated) throw new MatrixError('M_NOT_FOUND', 'No such user');
    await this.#ensureSystemUser();
    const roomId = await this.#roomFor(userId);
    const eventId = await this.#rooms.send(this.#system, roomId, 'm.room.message', `notice-${randomString(16)}`, {
      msgtype: 'm.server_notice',
      body,
      server_notice_type: options.type ?? GENERAL_NOTICE_TYPE,
    });
    // Ids and the notice type only: the text stays out of the trail.
    await this.#audit.record({
      action: 'server_notice.send',
      outcome: 'success',
      target: { userId, roomId, eventId },
      details: { type: options.type ?? GENERAL_NOTICE_TYPE },
    });
    return eventId;
  }

  /** Sends a notice to every active holder of a role; returns how many received it. */
  async sendToRole(role: Role, body: string, options: NoticeOptions = {}): Promise<number> {
    return this.#sendToEach(await this.#storage.roles.usersWithRole(role), body, options);
  }

  /** Sends a notice to every active user of the server; returns how many received it. */
  async sendToAll(body: string, options: NoticeOptions = {}): Promise<number> {
    return this.#sendToEach(await this.#storage.users.listActiveUserIds(), body, options);
  }

  async #sendToEach(userIds: readonly string[], body: string, options: NoticeOptions): Promise<number> {
    let sent = 0;
    for (const userId of userIds) {
      if (userId === this.#system.userId) continue;
      try {
        await this.sendToUser(userId, body, options);
        sent++;
      } catch (error) {
        // A user deactivated meanwhile is skipped; anything else is a real failure.
        if (!(error instanceof MatrixError && error.errcode === 'M_NOT_FOUND')) throw error;
      }
    }
    return sent;
  }

  /** Creates the system user the first time; refuses to post as an account someone can sign in to. */
  async #ensureSystemUser() {
    if (this.#systemReady) return;
    const existing = await this.#storage.users.get(this.#system.userId);
    if (existing && existing.passwordHash !== null) {
      throw new Error(`${this.#system.userId} is an account with a password; server notices will not be sent as it`);
    }
    if (!existing) {
      await this.#storage.users.create({
        userId: this.#system.userId,
        localpart: SERVER_NOTICES_LOCALPART,
        passwordHash: null,
        isAdmin: false,
        displayname: 'Server Notices',
        createdTs: this.#clock.now(),
      });
    }
    this.#systemReady = true;
  }

  /** The user's notices room: created (user invited, room tagged) on first use, re-invited to after they left. */
  async #roomFor(userId: string): Promise<string> {
    const known = await this.#storage.serverNotices.roomOf(userId);
    if (known) {
      const membership = await this.#storage.events.currentStateEvent(known, 'm.room.member', userId);
      const state = membership ? parseEvent(membership).content.membership : undefined;
      if (state !== 'join' && state !== 'invite') await this.#rooms.invite(this.#system, known, userId, undefined, { serverOwned: true });
      return known;
    }
    const pending = this.#pending.get(userId);
    if (pending) return pending;
    const creating = this.#createRoom(userId).finally(() => this.#pending.delete(userId));
    this.#pending.set(userId, creating);
    return creating;
  }

  async #createRoom(userId: string): Promise<string> {
    const roomId = await this.#rooms.createRoom(
      this.#system,
      {
        preset: 'private_chat',
        name: 'Server Notices',
        topic: 'Notices from the administrators of this server',
        invite: [userId],
        // Only the server posts here; the user reads (and may leave).
        power_level_content_override: { events_default: 100, state_default: 100, invite: 100, kick: 100, ban: 100, redact: 100 },
      },
      { serverOwned: true },
    );
    if (!(await this.#storage.serverNotices.setRoom(userId, roomId))) {
      // Another process created one first: use that one (this room stays empty).
      return (await this.#storage.serverNotices.roomOf(userId))!;
    }
    // The tag is how clients recognise the room; it is the user's own room account data.
    await this.#writer.write(async ({ stores, nextPosition, touch, mark }) => {
      const existing = (await stores.accountData.get(userId, roomId, 'm.tag')) as { tags?: Record<string, unknown> } | undefined;
      const tags = { ...(existing?.tags ?? {}), [SERVER_NOTICE_TAG]: {} };
      await stores.accountData.put(userId, roomId, 'm.tag', { tags }, await nextPosition());
      touch([], [userId]);
      mark('accountData', [userId]);
    });
    return roomId;
  }
}
