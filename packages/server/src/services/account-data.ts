/**
 * Client config (spec: "Client Config"): JSON documents a user keeps on the server, globally or per
 * room. Clients keep secrets here (4S keys, cross-signing, backup keys), so only the owner may read
 * or write. Writing `{}` is how clients "delete" a value, so `{}` is stored like any other value.
 */
import { MatrixError, isValidRoomId } from '@caduceus/core';
import { PERMISSION_CONFIG_TYPE, parsePermissionConfig } from '../compliance/policy/index.ts';
import { GLOBAL_ROOM, type AccountDataStore } from '../storage/index.ts';
import type { ServiceDeps } from './index.ts';
import type { StreamWriter } from './stream-writer.ts';

export type AccountDataContent = Record<string, unknown>;

/** Types the server maintains itself, through their own APIs (read markers, push rules). */
export const SERVER_CONTROLLED_TYPES: ReadonlySet<string> = new Set(['m.fully_read', 'm.push_rules']);

/** Where a document lives: a user's global account data, or theirs for one room. */
export interface AccountDataScope {
  userId: string;
  /** Undefined for global account data. */
  roomId?: string;
}

export class AccountDataService {
  readonly #store: AccountDataStore;
  readonly #writer: StreamWriter;

  constructor(deps: ServiceDeps) {
    this.#store = deps.storage.accountData;
    this.#writer = deps.writer;
  }

  async get(callerId: string, scope: AccountDataScope, type: string): Promise<AccountDataContent> {
    const roomKey = this.#check(callerId, scope);
    const content = await this.#store.get(scope.userId, roomKey, type);
    if (content === undefined) throw new MatrixError('M_NOT_FOUND', 'Account data not found');
    return content;
  }

  async put(callerId: string, scope: AccountDataScope, type: string, content: AccountDataContent): Promise<void> {
    const roomKey = this.#check(callerId, scope);
    if (SERVER_CONTROLLED_TYPES.has(type)) {
      throw new MatrixError('M_BAD_JSON', `${type} is maintained by the server and cannot be set through this API`, { status: 405 });
    }
    // The contact policy reads this one: a malformed value must not silently refuse every invitation.
    // `{}` clears it, as for any account data.
    if (type === PERMISSION_CONFIG_TYPE && scope.roomId === undefined && Object.keys(content).length > 0) {
      const parsed = parsePermissionConfig(content);
      if (!parsed.ok) throw new MatrixError('M_BAD_JSON', `Invalid ${PERMISSION_CONFIG_TYPE}: ${parsed.problem}`);
    }
    // Through the stream writer: the owner's /sync wakes and echoes the change (clients wait for it).
    await this.#writer.write(async ({ stores, nextPosition, touch, mark }) => {
      await stores.accountData.put(scope.userId, roomKey, type, content, await nextPosition());
      touch([], [scope.userId]);
      mark('accountData', [scope.userId]);
    });
  }

  /** Checks the ids and ownership; returns the store's room key ("" for global data). */
  #check(callerId: string, scope: AccountDataScope): string {
    if (scope.roomId !== undefined && !isValidRoomId(scope.roomId)) throw new MatrixError('M_INVALID_PARAM', 'Invalid room id');
    if (callerId !== scope.userId) throw new MatrixError('M_FORBIDDEN', "You may not access another user's account data");
    return scope.roomId ?? GLOBAL_ROOM;
  }
}
