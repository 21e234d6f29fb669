/**
 * The public room directory (spec: "Listing rooms"): which rooms are published, and the paged,
 * searchable list of them. Rooms a caller cannot see answer "not found", so room ids cannot be probed.
 */
import { MatrixError, isSupportedRoomVersion } from '@caduceus/core';
import type { Config } from '../../config/config.ts';
import type { Storage } from '../../storage/index.ts';
import type { PublishedRoom } from '../../storage/rooms.ts';
import type { Principal } from '../sessions.ts';
import { parseEvent } from './append.ts';
import { compareStrings, isActiveAdmin, mayChangeCanonicalAlias, membershipOf, normalise, notInRoom, roomNotFound } from './directory-shared.ts';

export type DirectoryVisibility = 'public' | 'private';

export interface PublicRoomsRequest {
  limit?: number | undefined;
  since?: string | undefined;
  /** The server whose directory to list; only this one (federation is not enabled). */
  server?: string | undefined;
  filter?: { generic_search_term?: string | undefined; room_types?: Array<string | null> | undefined } | undefined;
}

/** One room as /publicRooms shows it (spec: PublicRoomsChunk). */
export interface PublicRoomsChunk {
  room_id: string;
  num_joined_members: number;
  world_readable: boolean;
  guest_can_join: boolean;
  join_rule: string;
  name?: string;
  topic?: string;
  avatar_url?: string;
  canonical_alias?: string;
  room_type?: string;
}

export interface PublicRoomsResponse {
  chunk: PublicRoomsChunk[];
  next_batch?: string;
  prev_batch?: string;
  total_room_count_estimate: number;
}

/** Most rooms one /publicRooms page holds, whatever the client asks for. */
export const MAX_PUBLIC_ROOMS_PAGE = 500;

/** The state a directory entry is made of. */
const DIRECTORY_STATE = ['m.room.create', 'm.room.name', 'm.room.topic', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.join_rules', 'm.room.history_visibility'];

export class PublicRoomService {
  readonly #config: Config;
  readonly #storage: Storage;

  constructor(config: Config, storage: Storage) {
    this.#config = config;
    this.#storage = storage;
  }

  /** GET /directory/list/room/{roomId} */
  async getVisibility(principal: Principal, roomId: string): Promise<DirectoryVisibility> {
    const room = await this.#storage.rooms.get(roomId);
    if (!room) throw roomNotFound();
    if (room.isPublic) return 'public';
    const joined = (await membershipOf(this.#storage, roomId, principal.userId)) === 'join';
    if (!joined && !(await isActiveAdmin(this.#storage, principal.userId))) throw roomNotFound();
    return 'private';
  }

  /** PUT /directory/list/room/{roomId}: by members who may change the canonical alias, or admins. */
  async setVisibility(principal: Principal, roomId: string, visibility: DirectoryVisibility): Promise<void> {
    const room = await this.#storage.rooms.get(roomId);
    if (!room) throw roomNotFound();
    if (!(await isActiveAdmin(this.#storage, principal.userId))) {
      const joined = (await membershipOf(this.#storage, roomId, principal.userId)) === 'join';
      if (!joined) throw room.isPublic ? notInRoom() : roomNotFound();
      const version = isSupportedRoomVersion(room.roomVersion) ? room.roomVersion : undefined;
      if (version === undefined || !(await mayChangeCanonicalAlias(this.#storage, roomId, principal.userId, version))) {
        throw new MatrixError('M_FORBIDDEN', 'You may not change whether this room is published');
      }
    }
    await this.#storage.rooms.setPublic(roomId, visibility === 'public');
  }

  /**
   * GET/POST /publicRooms: the published rooms, largest first (ties by room id). Pagination tokens
   * name the boundary room, so rooms joining or leaving the list do not shift later pages.
   */
  async list(request: PublicRoomsRequest): Promise<PublicRoomsResponse> {
    if (request.server !== undefined && request.server !== this.#config.serverName) {
      throw new MatrixError('M_FORBIDDEN', 'Only this server\'s room directory can be listed: federation is not enabled');
    }
    const limit = Math.min(request.limit ?? MAX_PUBLIC_ROOMS_PAGE, MAX_PUBLIC_ROOMS_PAGE);
    const term = normalise(request.filter?.generic_search_term ?? '').trim();
    const roomTypes = request.filter?.room_types;

    const entries = (await this.#storage.rooms.listPublished(DIRECTORY_STATE))
      .map(toChunk)
      .filter((e) => term === '' || e.searchText.includes(term))
      .filter((e) => roomTypes === undefined || roomTypes.includes(e.chunk.room_type ?? null))
      .sort((a, b) => compareKeys(keyOf(a.chunk), keyOf(b.chunk)));

    let start = 0;
    let end = Math.min(limit, entries.length);
    if (request.since !== undefined) {
      const token = parseToken(request.since);
      const boundary = entries.findIndex((e) => compareKeys(keyOf(e.chunk), token.key) > (token.direction === 'n' ? 0 : -1));
      const at = boundary === -1 ? entries.length : boundary;
      if (token.direction === 'n') {
        start = at;
        end = Math.min(at + limit, entries.length);
      } else {
        end = at;
        start = Math.max(0, at - limit);
      }
    }
    const page = entries.slice(start, end).map((e) => e.chunk);
    const response: PublicRoomsResponse = { chunk: page, total_room_count_estimate: entries.length };
    const first = page[0];
    const last = page.at(-1);
    if (last && end < entries.length) response.next_batch = makeToken('n', keyOf(last));
    if (first && start > 0) response.prev_batch = makeToken('p', keyOf(first));
    return response;
  }
}

// --- Public room entries and their pagination keys ----------------------------------------------

interface DirectoryEntryView {
  chunk: PublicRoomsChunk;
  /** Name, topic and aliases, normalised for matching. */
  searchText: string;
}

function contentOf(room: PublishedRoom, type: string): Record<string, unknown> {
  const json = room.state.get(type);
  return json ? parseEvent({ json }).content : {};
}

function stringField(content: Record<string, unknown>, field: string): string | undefined {
  const value = content[field];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function toChunk(room: PublishedRoom): DirectoryEntryView {
  const name = stringField(contentOf(room, 'm.room.name'), 'name');
  const topic = stringField(contentOf(room, 'm.room.topic'), 'topic');
  const avatarUrl = stringField(contentOf(room, 'm.room.avatar'), 'url');
  const aliasContent = contentOf(room, 'm.room.canonical_alias');
  const canonicalAlias = stringField(aliasContent, 'alias');
  const altAliases = Array.isArray(aliasContent.alt_aliases) ? aliasContent.alt_aliases.filter((a): a is string => typeof a === 'string') : [];
  const roomType = stringField(contentOf(room, 'm.room.create'), 'type');
  const chunk: PublicRoomsChunk = {
    room_id: room.roomId,
    num_joined_members: room.joinedMembers,
    world_readable: contentOf(room, 'm.room.history_visibility').history_visibility === 'world_readable',
    // Guest access is disabled on this server, whatever a room's m.room.guest_access says.
    guest_can_join: false,
    join_rule: stringField(contentOf(room, 'm.room.join_rules'), 'join_rule') ?? 'public',
    ...(name !== undefined ? { name } : {}),
    ...(topic !== undefined ? { topic } : {}),
    ...(avatarUrl !== undefined ? { avatar_url: avatarUrl } : {}),
    ...(canonicalAlias !== undefined ? { canonical_alias: canonicalAlias } : {}),
    ...(roomType !== undefined ? { room_type: roomType } : {}),
  };
  const searchText = normalise([name, topic, canonicalAlias, ...altAliases].filter((s) => s !== undefined).join('\n'));
  return { chunk, searchText };
}

interface PageKey {
  members: number;
  roomId: string;
}

const keyOf = (chunk: PublicRoomsChunk): PageKey => ({ members: chunk.num_joined_members, roomId: chunk.room_id });

/** Directory order: more joined members first, then by room id. */
function compareKeys(a: PageKey, b: PageKey): number {
  return b.members - a.members || compareStrings(a.roomId, b.roomId);
}

/** An opaque token: 'n' (rooms after the key) or 'p' (rooms before it), and the boundary room's key. */
function makeToken(direction: 'n' | 'p', key: PageKey): string {
  return Buffer.from(`${direction}${key.members}:${key.roomId}`).toString('base64url');
}

function parseToken(token: string): { direction: 'n' | 'p'; key: PageKey } {
  const match = /^([np])(\d{1,15}):(!.+)$/.exec(Buffer.from(token, 'base64url').toString());
  if (!match) throw new MatrixError('M_INVALID_PARAM', 'Invalid pagination token');
  return { direction: match[1] as 'n' | 'p', key: { members: Number(match[2]), roomId: match[3]! } };
}
