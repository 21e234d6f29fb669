/**
 * Rooms as an administrator sees them — ids, settings, membership, never messages — and blocking:
 * a blocked room refuses new joins, invites and sends (the room service checks the flag).
 */
import { MatrixError, isValidRoomId } from '@caduceus/core';
import type { Storage } from '../../storage/index.ts';
import type { AdminAuditor, AdminCaller } from './access.ts';
import { decodeFrom, page } from './paging.ts';

/** The state a summary shows: settings, never message content. */
const SUMMARY_STATE = ['m.room.name', 'm.room.topic', 'm.room.encryption', 'm.room.join_rules', 'm.room.history_visibility', 'm.room.canonical_alias', 'm.room.guest_access'];

export class AdminRoomService {
  readonly #storage: Storage;
  readonly #auditor: AdminAuditor;

  constructor(storage: Storage, auditor: AdminAuditor) {
    this.#storage = storage;
    this.#auditor = auditor;
  }

  async list(caller: AdminCaller, options: { from?: string | undefined; limit: number }) {
    return this.#auditor.run(caller, 'rooms', 'list', {}, async (record) => {
      const rows = await this.#storage.adminViews.listRooms({ after: decodeFrom(options.from), limit: options.limit + 1 });
      const { items, next } = page(rows, options.limit, (r) => r.roomId);
      await record({ count: items.length });
      return {
        rooms: items.map((r) => ({
          room_id: r.roomId,
          creator: r.creator,
          created_ts: r.createdTs,
          published: r.isPublic,
          blocked: r.blocked,
          joined_members: r.joinedMembers,
        })),
        ...(next ? { next_from: next } : {}),
      };
    });
  }

  async members(caller: AdminCaller, roomId: string) {
    return this.#auditor.run(caller, 'rooms', 'members', { roomId }, async () => {
      await this.#existing(roomId);
      const members = await this.#storage.events.members(roomId);
      return { members: members.map((m) => ({ user_id: m.userId, membership: m.membership })) };
    });
  }

  async summary(caller: AdminCaller, roomId: string) {
    return this.#auditor.run(caller, 'rooms', 'summary', { roomId }, async () => {
      const room = await this.#existing(roomId);
      const content = async (type: string) => {
        const row = await this.#storage.events.currentStateEvent(roomId, type, '');
        return row ? ((JSON.parse(row.json) as { content?: Record<string, unknown> }).content ?? {}) : undefined;
      };
      const [name, topic, encryption, joinRules, history, alias, guests] = await Promise.all(SUMMARY_STATE.map(content));
      const counts = await this.#storage.adminViews.membershipCounts(roomId);
      const text = (v: unknown) => (typeof v === 'string' ? v : null);
      return {
        room_id: roomId,
        room_version: room.roomVersion,
        creator: room.creator,
        created_ts: room.createdTs,
        published: room.isPublic,
        blocked: await this.#storage.rooms.isBlocked(roomId),
        name: text(name?.name),
        topic: text(topic?.topic),
        encrypted: encryption !== undefined,
        encryption_algorithm: text(encryption?.algorithm),
        join_rule: text(joinRules?.join_rule),
        history_visibility: text(history?.history_visibility),
        canonical_alias: text(alias?.alias),
        guest_access: text(guests?.guest_access),
        members: { joined: counts.join ?? 0, invited: counts.invite ?? 0, left: counts.leave ?? 0, banned: counts.ban ?? 0 },
      };
    });
  }

  async setBlocked(caller: AdminCaller, roomId: string, blocked: boolean) {
    return this.#auditor.run(caller, 'rooms', blocked ? 'block' : 'unblock', { roomId }, async (record) => {
      if (!isValidRoomId(roomId)) throw new MatrixError('M_INVALID_PARAM', 'Not a room id');
      await this.#auditor.transaction(async (stores) => {
        if (!(await stores.rooms.setBlocked(roomId, blocked))) throw new MatrixError('M_NOT_FOUND', 'No such room');
        await record({}, stores);
      });
      return { room_id: roomId, blocked };
    });
  }

  async #existing(roomId: string) {
    if (!isValidRoomId(roomId)) throw new MatrixError('M_INVALID_PARAM', 'Not a room id');
    const room = await this.#storage.rooms.get(roomId);
    if (!room) throw new MatrixError('M_NOT_FOUND', 'No such room');
    return room;
  }
}
