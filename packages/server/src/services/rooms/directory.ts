/**
 * Room aliases, the public room directory and the user directory (spec: "Room aliases", "Listing
 * rooms", "User directory").
 *
 * Healthcare choices, beyond the spec:
 * - every endpoint needs a signed-in caller (the routes check it): nothing is listed anonymously;
 * - a room the caller cannot see (not joined, not published, not a server admin) answers "not found",
 *   so room ids cannot be probed;
 * - the user directory finds only people the caller shares a room with, or who are in a room
 *   published in the directory, plus departments, and never deactivated accounts; the contact
 *   policy narrows that for patients (see ContactPolicyService.directoryCandidates).
 */
import {
  MatrixError,
  isSupportedRoomVersion,
  isValidServerName,
  requiredEventLevel,
  userPowerLevel,
  type RoomVersion,
} from '@caduceus/core';
import type { Config } from '../../config/config.ts';
import type { Storage, Stores } from '../../storage/index.ts';
import type { PublishedRoom } from '../../storage/rooms.ts';
import type { DirectoryEntry } from '../../storage/users.ts';
import type { Clock } from '../clock.ts';
import type { ContactPolicyService } from '../contact-policy.ts';
import type { Principal } from '../sessions.ts';
import type { StreamWriter, WriteContext } from '../stream-writer.ts';
import { parseEvent, type EventAppender } from './append.ts';

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

export interface UserDirectoryResult {
  user_id: string;
  display_name?: string;
  avatar_url?: string;
}

/** Most rooms one /publicRooms page holds, whatever the client asks for. */
export const MAX_PUBLIC_ROOMS_PAGE = 500;
export const DEFAULT_USER_SEARCH_LIMIT = 10;
export const MAX_USER_SEARCH_LIMIT = 50;
/** Longest room alias, in bytes of UTF-8, as the spec bounds it. */
const MAX_ALIAS_BYTES = 255;

/** The state a directory entry is made of. */
const DIRECTORY_STATE = ['m.room.create', 'm.room.name', 'm.room.topic', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.join_rules', 'm.room.history_visibility'];

const roomNotFound = () => new MatrixError('M_NOT_FOUND', 'Room not found');
const aliasNotFound = () => new MatrixError('M_NOT_FOUND', 'Room alias not found');
const notInRoom = () => new MatrixError('M_FORBIDDEN', 'You are not in this room');

export class DirectoryService {
  readonly #config: Config;
  readonly #clock: Clock;
  readonly #storage: Storage;
  readonly #writer: StreamWriter;
  readonly #appender: EventAppender;
  readonly #contactPolicy: ContactPolicyService;

  constructor(config: Config, clock: Clock, storage: Storage, writer: StreamWriter, appender: EventAppender, contactPolicy: ContactPolicyService) {
    this.#config = config;
    this.#clock = clock;
    this.#storage = storage;
    this.#writer = writer;
    this.#appender = appender;
    this.#contactPolicy = contactPolicy;
  }

  // --- Aliases ---------------------------------------------------------------------------------

  /** PUT /directory/room/{roomAlias}: any joined member may add an alias on this server. */
  async setAlias(principal: Principal, alias: string, roomId: string): Promise<void> {
    if (!this.#isLocalAlias(alias)) throw new MatrixError('M_INVALID_PARAM', 'Room aliases must be on this server');
    if ((await this.#membership(this.#storage, roomId, principal.userId)) !== 'join') throw notInRoom();
    if (!(await this.#storage.rooms.createAlias(alias, roomId, principal.userId, this.#clock.now()))) {
      throw new MatrixError('M_UNKNOWN', 'Room alias already exists', { status: 409 });
    }
  }

  /** GET /directory/room/{roomAlias} */
  async resolveAlias(alias: string): Promise<{ room_id: string; servers: string[] }> {
    // Aliases of other servers would be resolved over federation, which is not enabled: not found.
    if (!this.#isLocalAlias(alias)) throw aliasNotFound();
    const found = await this.#storage.rooms.resolveAlias(alias);
    if (!found) throw aliasNotFound();
    return { room_id: found.roomId, servers: [this.#config.serverName] };
  }

  /**
   * DELETE /directory/room/{roomAlias}: by the alias's creator, a member who may change the room's
   * canonical alias, or a server admin. When the caller may, the alias also leaves the room's
   * m.room.canonical_alias event (the spec recommends it), in the same transaction.
   */
  async deleteAlias(principal: Principal, alias: string): Promise<void> {
    if (!this.#isLocalAlias(alias)) throw aliasNotFound();
    const isAdmin = await this.#isAdmin(principal.userId);
    await this.#writer.write(async (ctx) => {
      const found = await ctx.stores.rooms.resolveAlias(alias);
      if (!found) throw aliasNotFound();
      const version = await this.#roomVersion(ctx.stores, found.roomId);
      const joined = (await this.#membership(ctx.stores, found.roomId, principal.userId)) === 'join';
      const mayEdit = joined && version !== undefined && (await this.#mayChangeCanonicalAlias(ctx.stores, found.roomId, principal.userId, version));
      if (found.creator !== principal.userId && !mayEdit && !isAdmin) {
        throw new MatrixError('M_FORBIDDEN', 'Only the creator of the alias, a room moderator or a server admin may remove it');
      }
      await ctx.stores.rooms.deleteAlias(alias);
      if (mayEdit && version !== undefined) await this.#dropFromCanonicalAlias(ctx, found.roomId, alias, principal.userId, version);
    });
  }

  /** GET /rooms/{roomId}/aliases: for joined members (rooms here are never world-readable) and admins. */
  async localAliases(principal: Principal, roomId: string): Promise<string[]> {
    const joined = (await this.#membership(this.#storage, roomId, principal.userId)) === 'join';
    if (!joined && !(await this.#isAdmin(principal.userId))) throw notInRoom();
    return this.#storage.rooms.aliasesOf(roomId);
  }

  // --- Room directory visibility ---------------------------------------------------------------

  /** GET /directory/list/room/{roomId} */
  async getVisibility(principal: Principal, roomId: string): Promise<DirectoryVisibility> {
    const room = await this.#storage.rooms.get(roomId);
    if (!room) throw roomNotFound();
    if (room.isPublic) return 'public';
    const joined = (await this.#membership(this.#storage, roomId, principal.userId)) === 'join';
    if (!joined && !(await this.#isAdmin(principal.userId))) throw roomNotFound();
    return 'private';
  }

  /** PUT /directory/list/room/{roomId}: by members who may change the canonical alias, or admins. */
  async setVisibility(principal: Principal, roomId: string, visibility: DirectoryVisibility): Promise<void> {
    const room = await this.#storage.rooms.get(roomId);
    if (!room) throw roomNotFound();
    if (!(await this.#isAdmin(principal.userId))) {
      const joined = (await this.#membership(this.#storage, roomId, principal.userId)) === 'join';
      if (!joined) throw room.isPublic ? notInRoom() : roomNotFound();
      const version = isSupportedRoomVersion(room.roomVersion) ? room.roomVersion : undefined;
      if (version === undefined || !(await this.#mayChangeCanonicalAlias(this.#storage, roomId, principal.userId, version))) {
        throw new MatrixError('M_FORBIDDEN', 'You may not change whether this room is published');
      }
    }
    await this.#storage.rooms.setPublic(roomId, visibility === 'public');
  }

  // --- Public rooms ----------------------------------------------------------------------------

  /**
   * GET/POST /publicRooms: the published rooms, largest first (ties by room id). Pagination tokens
   * name the boundary room, so rooms joining or leaving the list do not shift later pages.
   */
  async publicRooms(request: PublicRoomsRequest): Promise<PublicRoomsResponse> {
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

  // --- User directory --------------------------------------------------------------------------

  /**
   * POST /user_directory/search: users sharing a room with the caller or in a published room,
   * matched case-insensitively on every word of the term against the localpart and display name
   * (and the whole user id when a word looks like one). Best matches first, then people with a
   * display name, then alphabetically.
   */
  async searchUsers(principal: Principal, searchTerm: string, limit = DEFAULT_USER_SEARCH_LIMIT): Promise<{ results: UserDirectoryResult[]; limited: boolean }> {
    const words = normalise(searchTerm).split(/\s+/).filter((w) => w !== '');
    if (words.length === 0) return { results: [], limited: false };
    const max = Math.max(0, Math.min(limit, MAX_USER_SEARCH_LIMIT));
    const candidates = await this.#contactPolicy.directoryCandidates(principal.userId);
    const ranked = candidates
      .map((user) => ({ user, rank: rankUser(user, words) }))
      .filter((m) => m.rank > 0)
      .sort(
        (a, b) =>
          b.rank - a.rank ||
          Number(b.user.displayname !== null) - Number(a.user.displayname !== null) ||
          compareStrings(normalise(a.user.displayname ?? a.user.localpart), normalise(b.user.displayname ?? b.user.localpart)) ||
          compareStrings(a.user.userId, b.user.userId),
      );
    return {
      results: ranked.slice(0, max).map(({ user }) => ({
        user_id: user.userId,
        ...(user.displayname !== null ? { display_name: user.displayname } : {}),
        ...(user.avatarUrl !== null ? { avatar_url: user.avatarUrl } : {}),
      })),
      limited: ranked.length > max,
    };
  }

  // --- Helpers ---------------------------------------------------------------------------------

  /**
   * Whether `alias` is a well-formed alias of this server; 400 when it is not an alias at all. The
   * spec allows any character but ':' and NUL in the localpart; we also refuse whitespace and control
   * characters, as aliases are shown to people and written to logs.
   */
  #isLocalAlias(alias: string): boolean {
    const colon = alias.indexOf(':');
    const localpart = alias.slice(1, colon);
    const server = alias.slice(colon + 1);
    if (!alias.startsWith('#') || colon < 2 || Buffer.byteLength(alias) > MAX_ALIAS_BYTES || /[\s\p{Cc}]/u.test(localpart) || !isValidServerName(server)) {
      throw new MatrixError('M_INVALID_PARAM', 'Room alias invalid');
    }
    return server === this.#config.serverName;
  }

  async #membership(stores: Stores, roomId: string, userId: string): Promise<string | undefined> {
    const row = await stores.events.currentStateEvent(roomId, 'm.room.member', userId);
    const membership = row ? parseEvent(row).content.membership : undefined;
    return typeof membership === 'string' ? membership : undefined;
  }

  async #isAdmin(userId: string): Promise<boolean> {
    const user = await this.#storage.users.get(userId);
    return user !== undefined && user.isAdmin && !user.deactivated;
  }

  async #roomVersion(stores: Stores, roomId: string): Promise<RoomVersion | undefined> {
    const room = await stores.rooms.get(roomId);
    return room && isSupportedRoomVersion(room.roomVersion) ? room.roomVersion : undefined;
  }

  /** Whether the user's power level lets them send m.room.canonical_alias in the room. */
  async #mayChangeCanonicalAlias(stores: Stores, roomId: string, userId: string, version: RoomVersion): Promise<boolean> {
    const state = async (type: string) => {
      const row = await stores.events.currentStateEvent(roomId, type, '');
      return row ? parseEvent(row) : undefined;
    };
    const powerLevels = await state('m.room.power_levels');
    return userPowerLevel(userId, powerLevels, await state('m.room.create'), version) >= requiredEventLevel('m.room.canonical_alias', true, powerLevels);
  }

  async #dropFromCanonicalAlias(ctx: WriteContext, roomId: string, alias: string, sender: string, version: RoomVersion) {
    const row = await ctx.stores.events.currentStateEvent(roomId, 'm.room.canonical_alias', '');
    if (!row) return;
    const content = { ...parseEvent(row).content };
    const alt = Array.isArray(content.alt_aliases) ? (content.alt_aliases as unknown[]) : undefined;
    if (content.alias !== alias && !alt?.includes(alias)) return;
    if (content.alias === alias) delete content.alias;
    if (alt) content.alt_aliases = alt.filter((a) => a !== alias);
    await this.#appender.append(ctx, { roomId, type: 'm.room.canonical_alias', stateKey: '', sender, content }, version);
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

const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** An opaque token: 'n' (rooms after the key) or 'p' (rooms before it), and the boundary room's key. */
function makeToken(direction: 'n' | 'p', key: PageKey): string {
  return Buffer.from(`${direction}${key.members}:${key.roomId}`).toString('base64url');
}

function parseToken(token: string): { direction: 'n' | 'p'; key: PageKey } {
  const match = /^([np])(\d{1,15}):(!.+)$/.exec(Buffer.from(token, 'base64url').toString());
  if (!match) throw new MatrixError('M_INVALID_PARAM', 'Invalid pagination token');
  return { direction: match[1] as 'n' | 'p', key: { members: Number(match[2]), roomId: match[3]! } };
}

// --- User search ranking -------------------------------------------------------------------------

/** Case- and form-insensitive text for matching (so "É" matches "é" however it was typed). */
const normalise = (text: string) => text.normalize('NFKC').toLowerCase();

/**
 * How well `words` match the user: per word 3 for a whole field or display-name word, 2 for a
 * prefix of one, 1 for a substring; 0 when any word does not match at all.
 */
function rankUser(user: DirectoryEntry, words: readonly string[]): number {
  const localpart = normalise(user.localpart);
  const displayname = normalise(user.displayname ?? '');
  const userId = normalise(user.userId);
  const fields = [localpart, ...(displayname !== '' ? [displayname, ...displayname.split(/\s+/)] : [])];
  let rank = 0;
  for (const word of words) {
    // The server name is in every local user id: compare the whole id only when the word looks like one.
    const candidates = word.startsWith('@') || word.includes(':') ? [...fields, userId] : fields;
    let best = 0;
    for (const field of candidates) {
      if (field === word) best = 3;
      else if (field.startsWith(word)) best = Math.max(best, 2);
      else if (field.includes(word)) best = Math.max(best, 1);
    }
    if (best === 0) return 0;
    rank += best;
  }
  return rank;
}
