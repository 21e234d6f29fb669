/**
 * Rooms as their members use them: create, send, set state, redact; membership (join, invite, leave,
 * kick, ban) is MembershipService's, reached through here. Every change is one stream-writer job that
 * appends events through the EventAppender (see RoomWriter).
 */
import {
  MatrixError,
  createEventContent,
  defaultPowerLevelsContent,
  isSupportedRoomVersion,
  mayRedact,
  DEFAULT_ROOM_VERSION,
  type PersistedEvent,
  type RoomPreset,
} from '@caduceus/core';
import type { Config } from '../../config/config.ts';
import { contentFacts, type AuditTrail } from '../../compliance/audit/index.ts';
import type { Stores } from '../../storage/index.ts';
import type { Clock } from '../clock.ts';
import type { ContactPolicyService } from '../contact-policy.ts';
import { randomString } from '../secrets.ts';
import type { Principal } from '../sessions.ts';
import { checkDeclaredMedia, linkEventMedia } from '../media-references.ts';
import { parseEvent } from './append.ts';
import type { MembershipService } from './membership.ts';
import type { RoomWriter } from './room-writer.ts';
import { RETENTION_EVENT_TYPE, retentionAuditDetails } from '../../compliance/retention/policy.ts';

/** The largest event we accept, as the spec bounds PDUs (65536 bytes of canonical JSON). */
export const MAX_EVENT_BYTES = 65_536;

export interface CreateRoomRequest {
  visibility?: 'public' | 'private' | undefined;
  room_alias_name?: string | undefined;
  name?: string | undefined;
  topic?: string | undefined;
  invite?: string[] | undefined;
  room_version?: string | undefined;
  creation_content?: Record<string, unknown> | undefined;
  initial_state?: Array<{ type: string; state_key?: string | undefined; content: Record<string, unknown> }> | undefined;
  preset?: RoomPreset | undefined;
  is_direct?: boolean | undefined;
  power_level_content_override?: Record<string, unknown> | undefined;
}

/** History visibility we never allow: healthcare rooms are not readable by people who are not in them. */
const FORBIDDEN_VISIBILITY = 'world_readable';

export class RoomService {
  readonly #config: Config;
  readonly #clock: Clock;
  readonly #stores: Stores;
  readonly #audit: AuditTrail;
  /** The audited write, version cache and member events this service shares with MembershipService. */
  readonly #rooms: RoomWriter;
  readonly #membership: MembershipService;
  /** Who may invite or join whom; refusals are audited there. */
  readonly #contactPolicy: ContactPolicyService;

  constructor(config: Config, clock: Clock, stores: Stores, rooms: RoomWriter, membership: MembershipService, audit: AuditTrail, contactPolicy: ContactPolicyService) {
    this.#config = config;
    this.#clock = clock;
    this.#stores = stores;
    this.#rooms = rooms;
    this.#membership = membership;
    this.#audit = audit;
    this.#contactPolicy = contactPolicy;
  }

  /**
   * POST /createRoom. `serverOwned`: a room the server itself runs (server notices), whose plaintext
   * is written by the server, so the encryption requirement does not apply.
   */
  async createRoom(principal: Principal, request: CreateRoomRequest, options: { serverOwned?: boolean } = {}): Promise<string> {
    const version = request.room_version ?? DEFAULT_ROOM_VERSION;
    if (!isSupportedRoomVersion(version)) {
      throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', `Room version ${version} is not supported; use 10 or 11`);
    }
    const preset: RoomPreset = request.preset ?? (request.visibility === 'public' ? 'public_chat' : 'private_chat');
    const invitees = [...new Set(request.invite ?? [])];
    for (const invitee of invitees) await this.#rooms.checkLocalUser(invitee);
    // Server-owned rooms (notices) reach everyone by design; people's rooms follow the contact policy.
    if (!options.serverOwned) await this.#contactPolicy.checkCreateRoom(principal.userId, invitees, request.is_direct === true);
    for (const state of request.initial_state ?? []) this.#checkStateContent(state.type, state.content);
    if (this.#config.encryptionRequired && !options.serverOwned && !(request.initial_state ?? []).some((s) => s.type === 'm.room.encryption' && (s.state_key ?? '') === '')) {
      throw new MatrixError('M_FORBIDDEN', 'This server requires end-to-end encryption: create rooms with m.room.encryption in initial_state');
    }
    const alias = request.room_alias_name !== undefined ? this.#aliasFromName(request.room_alias_name) : undefined;
    const roomId = `!${randomString(18)}:${this.#config.serverName}`;
    const creator = principal.userId;

    await this.#rooms.write('room.create', { roomId }, async (ctx) => {
      if (alias && !(await ctx.stores.rooms.createAlias(alias, roomId, creator, this.#clock.now()))) {
        throw new MatrixError('M_ROOM_IN_USE', 'That room alias is taken');
      }
      await ctx.stores.rooms.create({ roomId, roomVersion: version, creator, createdTs: this.#clock.now(), isPublic: request.visibility === 'public' });
      const send = (type: string, stateKey: string, content: Record<string, unknown>) =>
        this.#rooms.appender.append(ctx, { roomId, type, stateKey, sender: creator, content }, version);

      await send('m.room.create', '', createEventContent(creator, version, request.creation_content ?? {}));
      await send('m.room.member', creator, { membership: 'join', ...(await this.#rooms.profileContent(ctx.stores, creator)) });
      const powerLevels = { ...defaultPowerLevelsContent(creator, preset, invitees), ...(request.power_level_content_override ?? {}) };
      await send('m.room.power_levels', '', powerLevels as Record<string, unknown>);
      if (alias) await send('m.room.canonical_alias', '', { alias });
      const isPublic = preset === 'public_chat';
      await send('m.room.join_rules', '', { join_rule: isPublic ? 'public' : 'invite' });
      // Healthcare default: a new member of a private room does not read what was said before their invite.
      await send('m.room.history_visibility', '', { history_visibility: isPublic ? 'shared' : 'invited' });
      await send('m.room.guest_access', '', { guest_access: 'forbidden' });
      for (const state of request.initial_state ?? []) await send(state.type, state.state_key ?? '', state.content);
      if (request.name !== undefined) await send('m.room.name', '', { name: request.name });
      if (request.topic !== undefined) await send('m.room.topic', '', { topic: request.topic });
      const encrypted = (request.initial_state ?? []).some((s) => s.type === 'm.room.encryption');
      await this.#audit.record({ action: 'room.create', outcome: 'success', target: { roomId }, details: { version, preset, encrypted, invites: invitees.length } }, ctx.stores);
      for (const invitee of invitees) {
        const { event } = await send('m.room.member', invitee, {
          membership: 'invite',
          ...(request.is_direct ? { is_direct: true } : {}),
          ...(await this.#rooms.profileContent(ctx.stores, invitee)),
        });
        await this.#rooms.recordMembership(ctx, event.event_id, roomId, invitee, 'invite');
      }
    });
    return roomId;
  }

  /**
   * PUT /rooms/{roomId}/send/{eventType}/{txnId}. `attachMedia`: mxc:// URIs the client declares the
   * event carries (MSC3911), for encrypted events whose content the server cannot read.
   */
  async send(principal: Principal, roomId: string, type: string, txnId: string, content: Record<string, unknown>, attachMedia: readonly string[] = []): Promise<string> {
    this.#checkSize(content);
    const { event } = await this.#rooms.write(
      'event.send',
      { roomId },
      async (ctx) => {
        const version = await this.#rooms.version(ctx, roomId);
        // With encryption required, an encrypted room takes no plaintext messages (a client bug or a
        // misconfigured bot would otherwise leak PHI to the server).
        if (this.#config.encryptionRequired && type === 'm.room.message' && (await ctx.stores.events.currentStateEvent(roomId, 'm.room.encryption', ''))) {
          throw new MatrixError('M_FORBIDDEN', 'This room is end-to-end encrypted: send m.room.encrypted events, not plaintext');
        }
        const declared = attachMedia.length > 0 ? await checkDeclaredMedia(ctx, this.#config.serverName, principal.userId, attachMedia) : [];
        const appended = await this.#rooms.appender.append(ctx, { roomId, type, sender: principal.userId, content, txn: { deviceId: principal.deviceId, txnId }, refuseIfBlocked: true }, version);
        // Which uploads this message carries, so they can be removed with it later.
        if (!appended.duplicate) {
          await linkEventMedia(ctx, this.#config.serverName, appended.event, declared, this.#clock.now());
          // Ids, size and a hash of the content: enough to prove what was sent, never what it said.
          const target = { roomId, eventId: appended.event.event_id };
          await this.#audit.record({ action: 'event.send', outcome: 'success', target, details: { type, ...contentFacts(content) } }, ctx.stores);
        }
        return appended;
      },
      // One append: every refusal (membership, power, bad JSON) comes before it writes anything.
      { checksBeforeWriting: true, appends: { roomId, txn: { userId: principal.userId, deviceId: principal.deviceId, txnId } } },
    );
    return event.event_id;
  }

  /** PUT /rooms/{roomId}/state/{eventType}/{stateKey}: a repeat of the current content is not a new event. */
  async setState(principal: Principal, roomId: string, type: string, stateKey: string, content: Record<string, unknown>): Promise<string> {
    this.#checkSize(content);
    this.#checkStateContent(type, content);
    if (type === 'm.room.member') throw new MatrixError('M_FORBIDDEN', 'Use the membership endpoints (join, invite, leave, kick, ban) to change membership');
    if (type === 'm.room.canonical_alias' && stateKey === '') await this.#checkCanonicalAliases(roomId, content);
    return this.#rooms.write('event.state', { roomId }, async (ctx) => {
      const version = await this.#rooms.version(ctx, roomId);
      await this.#rooms.refuseIfBlocked(ctx, roomId);
      const current = await ctx.stores.events.currentStateEvent(roomId, type, stateKey);
      if (current && current.sender === principal.userId && JSON.stringify(parseEvent(current).content) === JSON.stringify(content)) {
        const membership = await ctx.stores.events.currentStateEvent(roomId, 'm.room.member', principal.userId);
        if (membership && parseEvent(membership).content.membership === 'join') return current.eventId;
      }
      const { event } = await this.#rooms.appender.append(ctx, { roomId, type, stateKey, sender: principal.userId, content }, version);
      await linkEventMedia(ctx, this.#config.serverName, event, [], this.#clock.now());
      await this.#audit.record(
        { action: 'event.state', outcome: 'success', target: { roomId, eventId: event.event_id }, details: { type, stateKey, ...contentFacts(content) } },
        ctx.stores,
      );
      if (type === RETENTION_EVENT_TYPE && stateKey === '') {
        await this.#audit.record({ action: 'retention.room_policy', outcome: 'success', target: { roomId, eventId: event.event_id }, details: retentionAuditDetails(content) }, ctx.stores);
      }
      return event.event_id;
    });
  }

  /** PUT /rooms/{roomId}/redact/{eventId}/{txnId} */
  async redact(principal: Principal, roomId: string, eventId: string, txnId: string, reason: string | undefined): Promise<string> {
    const { event } = await this.#rooms.write('event.redact', { roomId, redacts: eventId }, async (ctx) => {
      const version = await this.#rooms.version(ctx, roomId);
      const earlier = await ctx.stores.events.findTxn(principal.userId, principal.deviceId, txnId);
      if (!earlier) {
        const target = await ctx.stores.events.get(eventId);
        if (!target || target.roomId !== roomId) throw new MatrixError('M_NOT_FOUND', 'No such event in this room');
        const lookup = async (type: string, stateKey: string) => {
          const row = await ctx.stores.events.currentStateEvent(roomId, type, stateKey);
          return row ? parseEvent(row) : undefined;
        };
        const state = new Map<string, PersistedEvent>();
        for (const [type, key] of [['m.room.power_levels', ''], ['m.room.create', '']] as const) {
          const found = await lookup(type, key);
          if (found) state.set(`${type}\u0000${key}`, found);
        }
        const verdict = mayRedact(principal.userId, target.sender, state, version);
        if (!verdict.ok) throw new MatrixError('M_FORBIDDEN', verdict.reason);
      }
      const appended = await this.#rooms.appender.append(
        ctx,
        {
          roomId,
          type: 'm.room.redaction',
          sender: principal.userId,
          content: reason !== undefined ? { reason } : {},
          redacts: eventId,
          txn: { deviceId: principal.deviceId, txnId },
        },
        version,
      );
      if (!appended.duplicate) {
        await this.#audit.record(
          { action: 'event.redact', outcome: 'success', target: { roomId, eventId: appended.event.event_id, redacts: eventId }, details: { withReason: reason !== undefined } },
          ctx.stores,
        );
      }
      return appended;
    });
    return event.event_id;
  }

  // --- Membership, which MembershipService carries out ---------------------------------------

  join(principal: Principal, roomIdOrAlias: string, reason?: string): Promise<string> {
    return this.#membership.join(principal, roomIdOrAlias, reason);
  }

  invite(principal: Principal, roomId: string, userId: string, reason?: string, options: { serverOwned?: boolean } = {}): Promise<void> {
    return this.#membership.invite(principal, roomId, userId, reason, options);
  }

  leave(principal: Principal, roomId: string, reason?: string): Promise<void> {
    return this.#membership.leave(principal, roomId, reason);
  }

  kick(principal: Principal, roomId: string, userId: string, reason?: string): Promise<void> {
    return this.#membership.kick(principal, roomId, userId, reason);
  }

  ban(principal: Principal, roomId: string, userId: string, reason?: string): Promise<void> {
    return this.#membership.ban(principal, roomId, userId, reason);
  }

  unban(principal: Principal, roomId: string, userId: string, reason?: string): Promise<void> {
    return this.#membership.unban(principal, roomId, userId, reason);
  }

  forget(principal: Principal, roomId: string): Promise<void> {
    return this.#membership.forget(principal, roomId);
  }

  joinedRooms(userId: string): Promise<string[]> {
    return this.#membership.joinedRooms(userId);
  }

  resolveRoom(roomIdOrAlias: string): Promise<string> {
    return this.#membership.resolveRoom(roomIdOrAlias);
  }

  #checkStateContent(type: string, content: Record<string, unknown>) {
    if (type === 'm.room.history_visibility' && content.history_visibility === FORBIDDEN_VISIBILITY) {
      throw new MatrixError('M_FORBIDDEN', 'Rooms on this server cannot be world-readable');
    }
    if (this.#config.encryptionRequired && type === 'm.room.encryption' && content.algorithm !== 'm.megolm.v1.aes-sha2') {
      throw new MatrixError('M_FORBIDDEN', 'This server requires m.megolm.v1.aes-sha2 encryption');
    }
  }

  /** The spec: a canonical alias (and each alternative) must be an alias that points at this room. */
  async #checkCanonicalAliases(roomId: string, content: Record<string, unknown>) {
    const { alias, alt_aliases: alternatives } = content;
    if (alias !== undefined && typeof alias !== 'string') throw new MatrixError('M_INVALID_PARAM', 'alias must be a string');
    if (alternatives !== undefined && (!Array.isArray(alternatives) || alternatives.some((a) => typeof a !== 'string'))) {
      throw new MatrixError('M_INVALID_PARAM', 'alt_aliases must be a list of aliases');
    }
    for (const candidate of [...(alias !== undefined ? [alias] : []), ...((alternatives as string[] | undefined) ?? [])]) {
      if (!/^#[^:\s]+:.+$/.test(candidate)) throw new MatrixError('M_INVALID_PARAM', 'Not a room alias');
      const found = await this.#stores.rooms.resolveAlias(candidate);
      if (found?.roomId !== roomId) throw new MatrixError('M_BAD_ALIAS', 'That alias does not point to this room');
    }
  }

  #checkSize(content: Record<string, unknown>) {
    if (Buffer.byteLength(JSON.stringify(content)) > MAX_EVENT_BYTES - 1024) {
      throw new MatrixError('M_TOO_LARGE', 'Event is too large');
    }
  }

  #aliasFromName(name: string): string {
    const alias = `#${name}:${this.#config.serverName}`;
    if (!/^[a-z0-9._=\-/+]+$/i.test(name) || Buffer.byteLength(alias) > 255) throw new MatrixError('M_INVALID_PARAM', 'Invalid room alias name');
    return alias;
  }
}
