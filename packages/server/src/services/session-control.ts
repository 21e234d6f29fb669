/**
 * Session control as a user (and their client) sees it: the organisation's session policy, the
 * list of their sessions with when each ends by itself, and remote wipe from another device.
 */
import { MatrixError } from '@caduceus/core';
import type { Config } from '../config/config.ts';
import type { Storage } from '../storage/index.ts';
import type { Principal, SessionService } from './sessions.ts';
import type { UiaService } from './uia.ts';

/** What clients are told of the policy (no secrets: it is served without a token). */
export interface ClientPolicy {
  /** Lock the screen / sign out after this many minutes without user activity; null = no limit. */
  idle_lock_minutes: number | null;
  idle_timeout_ms: number | null;
  /** Sessions end this long after sign-in whatever the activity; null = no limit. */
  session_lifetime_ms: number | null;
  /** "required" or "optional" second factor at sign-in. */
  mfa: 'required' | 'optional';
  /** New rooms must be end-to-end encrypted. */
  encryption_required: boolean;
}

export interface SessionView {
  device_id: string;
  display_name?: string;
  last_seen_ip?: string;
  last_seen_ts?: number;
  /** The client's User-Agent at its last request. */
  user_agent?: string;
  created_ts: number;
  session_started_ts: number;
  /** When the session ends by itself if the device stays silent / whatever happens (absent: no limit). */
  idle_expires_ts?: number;
  lifetime_expires_ts?: number;
  /** The session making this request. */
  current: boolean;
}

export interface WipeRequest {
  deviceIds?: readonly string[] | undefined;
  /** Every session of the user except the caller's. */
  allOther?: boolean | undefined;
}

export class SessionControlService {
  readonly #config: Config;
  readonly #storage: Storage;
  readonly #sessions: SessionService;
  readonly #uia: UiaService;

  constructor(config: Config, storage: Storage, sessions: SessionService, uia: UiaService) {
    this.#config = config;
    this.#storage = storage;
    this.#sessions = sessions;
    this.#uia = uia;
  }

  policy(): ClientPolicy {
    const { idleTimeoutMs, maxLifetimeMs } = this.#config.sessionPolicy;
    return {
      idle_lock_minutes: idleTimeoutMs === null ? null : Math.max(1, Math.round(idleTimeoutMs / 60_000)),
      idle_timeout_ms: idleTimeoutMs,
      session_lifetime_ms: maxLifetimeMs,
      mfa: this.#config.mfa,
      encryption_required: this.#config.encryptionRequired,
    };
  }

  async list(principal: Principal): Promise<SessionView[]> {
    const devices = await this.#storage.sessions.listDevices(principal.userId);
    return devices.map((d) => {
      const expiry = this.#sessions.expiryOf(d);
      return {
        device_id: d.deviceId,
        ...(d.displayName !== null ? { display_name: d.displayName } : {}),
        ...(d.lastSeenIp !== null ? { last_seen_ip: d.lastSeenIp } : {}),
        ...(d.lastSeenTs !== null ? { last_seen_ts: d.lastSeenTs } : {}),
        ...(d.lastSeenUserAgent !== null ? { user_agent: d.lastSeenUserAgent } : {}),
        created_ts: d.createdTs,
        session_started_ts: expiry.startedTs,
        ...(expiry.idleEndsTs !== null ? { idle_expires_ts: expiry.idleEndsTs } : {}),
        ...(expiry.lifetimeEndsTs !== null ? { lifetime_expires_ts: expiry.lifetimeEndsTs } : {}),
        current: d.deviceId === principal.deviceId,
      };
    });
  }

  /**
   * Remote wipe by the user, after re-entering their password: the named devices (or all others)
   * are signed out for good and told to erase their local data. Returns the devices wiped.
   */
  async wipe(principal: Principal, request: WipeRequest, auth: unknown, clientAddress: string): Promise<string[]> {
    const named = [...new Set(request.deviceIds ?? [])];
    if (named.length === 0 && request.allOther !== true) {
      throw new MatrixError('M_MISSING_PARAM', 'Name the sessions to end in "device_ids", or set "all_other": true');
    }
    // Unknown ids are reported before the password is asked for, as DELETE /devices/{id} does.
    const known = new Set((await this.#storage.sessions.listDevices(principal.userId)).map((d) => d.deviceId));
    const unknown = named.filter((id) => !known.has(id));
    if (unknown.length > 0) throw new MatrixError('M_NOT_FOUND', 'No such device');
    const session = await this.#uia.authenticate(auth, {
      purpose: 'wipe_devices',
      userId: principal.userId,
      flows: [['m.login.password']],
      clientAddress,
    });
    const actor = { userId: principal.userId, deviceId: principal.deviceId, address: clientAddress };
    const wiped = request.allOther === true ? await this.#sessions.wipeUser(principal.userId, actor, principal.deviceId) : [];
    const rest = named.filter((id) => !wiped.includes(id));
    if (rest.length > 0) wiped.push(...(await this.#sessions.wipeDevices(principal.userId, rest, actor)));
    await this.#uia.finish(session);
    return wiped;
  }
}
