/** Room aliases (spec: "Room aliases"): only this server's, managed by room members and admins. */
import { MatrixError, isValidServerName, type RoomVersion } from '@caduceus/core';
import type { Config } from '../../config/config.ts';
import type { Storage } from '../../storage/index.ts';
import type { Clock } from '../clock.ts';
import type { Principal } from '../sessions.ts';
import type { StreamWriter, WriteContext } from '../stream-writer.ts';
import { parseEvent, type EventAppender } from './append.ts';
import { isActiveAdmin, mayChangeCanonicalAlias, membershipOf, notInRoom, roomVersionOf } from './directory-shared.ts';

/** Longest room alias, in bytes of UTF-8, as the spec bounds it. */
const MAX_ALIAS_BYTES = 255;

const aliasNotFound = () => new MatrixError('M_NOT_FOUND', 'Room alias not found');

export class RoomAliasService {
  readonly #config: Config;
  readonly #clock: Clock;
  readonly #storage: Storage;
  readonly #writer: StreamWriter;
  readonly #appender: EventAppender;

  constructor(config: Config, clock: Clock, storage: Storage, writer: StreamWriter, appender: EventAppender) {
    this.#config = config;
    this.#clock = clock;
    this.#storage = storage;
    this.#writer = writer;
    this.#appender = appender;
  }

  /** PUT /directory/room/{roomAlias}: any joined member may add an alias on this server. */
  async setAlias(principal: Principal, alias: string, roomId: string): Promise<void> {
    if (!this.#isLocalAlias(alias)) throw new MatrixError('M_INVALID_PARAM', 'Room aliases must be on this server');
    if ((await membershipOf(this.#storage, roomId, principal.userId)) !== 'join') throw notInRoom();
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
    const isAdmin = await isActiveAdmin(this.#storage, principal.userId);
    await this.#writer.write(async (ctx) => {
      const found = await ctx.stores.rooms.resolveAlias(alias);
      if (!found) throw aliasNotFound();
      const version = await roomVersionOf(ctx.stores, found.roomId);
      const joined = (await membershipOf(ctx.stores, found.roomId, principal.userId)) === 'join';
      const mayEdit = joined && version !== undefined && (await mayChangeCanonicalAlias(ctx.stores, found.roomId, principal.userId, version));
      if (found.creator !== principal.userId && !mayEdit && !isAdmin) {
        throw new MatrixError('M_FORBIDDEN', 'Only the creator of the alias, a room moderator or a server admin may remove it');
      }
      await ctx.stores.rooms.deleteAlias(alias);
      if (mayEdit && version !== undefined) await this.#dropFromCanonicalAlias(ctx, found.roomId, alias, principal.userId, version);
    });
  }

  /** GET /rooms/{roomId}/aliases: for joined members (rooms here are never world-readable) and admins. */
  async localAliases(principal: Principal, roomId: string): Promise<string[]> {
    const joined = (await membershipOf(this.#storage, roomId, principal.userId)) === 'join';
    if (!joined && !(await isActiveAdmin(this.#storage, principal.userId))) throw notInRoom();
    return this.#storage.rooms.aliasesOf(roomId);
  }

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
