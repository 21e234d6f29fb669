/** A user's devices (sessions), as the user sees and manages them. */
import { MatrixError } from '@caduceus/core';
import type { AuditTrail } from '../compliance/audit/index.ts';
import type { DeviceRecord, Storage } from '../storage/index.ts';
import type { Principal, SessionService } from './sessions.ts';
import type { UiaService } from './uia.ts';

export interface DeviceView {
  device_id: string;
  display_name?: string;
  last_seen_ip?: string;
  last_seen_ts?: number;
}

export const toDeviceView = (d: DeviceRecord): DeviceView => ({
  device_id: d.deviceId,
  ...(d.displayName !== null ? { display_name: d.displayName } : {}),
  ...(d.lastSeenIp !== null ? { last_seen_ip: d.lastSeenIp } : {}),
  ...(d.lastSeenTs !== null ? { last_seen_ts: d.lastSeenTs } : {}),
});

const deviceNotFound = () => new MatrixError('M_NOT_FOUND', 'No such device');

export class DeviceService {
  readonly #storage: Storage;
  readonly #sessions: SessionService;
  readonly #uia: UiaService;
  readonly #audit: AuditTrail;

  constructor(storage: Storage, sessions: SessionService, uia: UiaService, audit: AuditTrail) {
    this.#storage = storage;
    this.#sessions = sessions;
    this.#uia = uia;
    this.#audit = audit;
  }

  async list(userId: string): Promise<DeviceView[]> {
    return (await this.#storage.sessions.listDevices(userId)).map(toDeviceView);
  }

  async get(userId: string, deviceId: string): Promise<DeviceView> {
    const device = await this.#storage.sessions.getDevice(userId, deviceId);
    if (!device) throw deviceNotFound();
    return toDeviceView(device);
  }

  async rename(userId: string, deviceId: string, displayName: string | null): Promise<void> {
    await this.#audit.transaction(async (stores) => {
      if (!(await stores.sessions.setDeviceDisplayName(userId, deviceId, displayName))) throw deviceNotFound();
      // The name itself can say something about its owner ("Dr Smith's ward phone"): not recorded.
      await this.#audit.record({ action: 'device.rename', outcome: 'success', target: { userId, deviceId } }, stores);
    });
  }

  /** Deletes devices after the user re-authenticates; their tokens stop working at once. */
  async delete(principal: Principal, deviceIds: readonly string[], auth: unknown, clientAddress: string, requireExisting: boolean) {
    if (requireExisting) {
      for (const id of deviceIds) {
        if (!(await this.#storage.sessions.getDevice(principal.userId, id))) throw deviceNotFound();
      }
    }
    const session = await this.#uia.authenticate(auth, {
      purpose: 'delete_devices',
      userId: principal.userId,
      flows: [['m.login.password']],
      clientAddress,
    });
    // Ended for good (soft_logout false): the deleted device is told to erase its data.
    await this.#sessions.endDevices(principal.userId, deviceIds, { reason: 'deleted' });
    await this.#uia.finish(session);
  }
}
