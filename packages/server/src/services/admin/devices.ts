/** A user's devices as an administrator sees them, and remote wipe (one device or all of them). */
import { MatrixError, parseUserId } from '@caduceus/core';
import type { AuditActor } from '../../compliance/audit/index.ts';
import type { Storage, Stores } from '../../storage/index.ts';
import type { AdminAuditor, AdminCaller } from './access.ts';

/** Remote wipe as the session service provides it: the sessions end and their clients are told to erase local data. */
type AlsoIn = (stores: Stores, deviceIds: readonly string[]) => Promise<void>;

export interface DeviceWiper {
  /** `alsoIn` writes in the wipe's own transaction (the admin call's audit entry): both commit or neither. */
  wipeDevice(userId: string, deviceId: string, actor: AuditActor, alsoIn?: AlsoIn): Promise<unknown>;
  /** Returns the devices wiped. */
  wipeUser(userId: string, actor: AuditActor, exceptDeviceId?: undefined, alsoIn?: AlsoIn): Promise<readonly string[]>;
}

export class AdminDeviceService {
  readonly #storage: Storage;
  readonly #auditor: AdminAuditor;
  readonly #wiper: DeviceWiper;

  constructor(storage: Storage, auditor: AdminAuditor, wiper: DeviceWiper) {
    this.#storage = storage;
    this.#auditor = auditor;
    this.#wiper = wiper;
  }

  async list(caller: AdminCaller, userId: string) {
    return this.#auditor.run(caller, 'devices', 'list', { userId }, async (record) => {
      await this.#existingUser(userId);
      const devices = await this.#storage.sessions.listDevices(userId);
      await record({ count: devices.length });
      return {
        devices: devices.map((d) => ({
          device_id: d.deviceId,
          display_name: d.displayName,
          created_ts: d.createdTs,
          last_seen_ts: d.lastSeenTs,
          last_seen_ip: d.lastSeenIp,
          last_seen_user_agent: d.lastSeenUserAgent,
        })),
      };
    });
  }

  async wipe(caller: AdminCaller, userId: string, deviceId: string) {
    return this.#auditor.run(caller, 'devices', 'wipe', { userId, deviceId }, async (record) => {
      await this.#existingUser(userId);
      if (!(await this.#storage.sessions.getDevice(userId, deviceId))) throw new MatrixError('M_NOT_FOUND', 'No such device');
      await this.#wiper.wipeDevice(userId, deviceId, this.#auditor.actor(caller), (stores) => record({}, stores));
      return {};
    });
  }

  async wipeAll(caller: AdminCaller, userId: string) {
    return this.#auditor.run(caller, 'devices', 'wipe_all', { userId }, async (record) => {
      await this.#existingUser(userId);
      // Without a device to wipe nothing is written, and the entry is recorded on its own afterwards.
      const ended = await this.#wiper.wipeUser(userId, this.#auditor.actor(caller), undefined, (stores, deviceIds) => record({ count: deviceIds.length }, stores));
      return { wiped: ended.length };
    });
  }

  async #existingUser(userId: string) {
    if (!parseUserId(userId)) throw new MatrixError('M_INVALID_PARAM', 'Not a valid user id');
    if (!(await this.#storage.users.get(userId))) throw new MatrixError('M_NOT_FOUND', 'No such user');
  }
}
