/**
 * Sessions: a device of a user and the tokens that let it in. Issues tokens at login and registration,
 * turns a bearer token into a principal, rotates refresh tokens, and ends sessions.
 */
import { MatrixError } from '@caduceus/core';
import type { Storage, Stores } from '../storage/index.ts';
import type { Clock } from './clock.ts';
import { hashToken, newDeviceId, newToken } from './secrets.ts';
import { recordDeviceListChange } from './device-lists.ts';
import type { StreamWriter } from './stream-writer.ts';

/** Who is calling: the authenticated user and device of a request. */
export interface Principal {
  userId: string;
  deviceId: string;
}

export interface NewSession {
  userId: string;
  deviceId: string;
  accessToken: string;
  refreshToken?: string;
  expiresInMs?: number;
}

export interface SessionOptions {
  deviceId?: string | undefined;
  displayName?: string | null | undefined;
  /** The client asked for a refresh token. */
  refreshable: boolean;
}

/** How often a device's "last seen" is written: often enough for session lists and idle logoff, rarely enough to be cheap. */
const LAST_SEEN_WRITE_INTERVAL_MS = 60_000;

const unknownToken = (softLogout: boolean, message = 'Unknown or expired access token') =>
  new MatrixError('M_UNKNOWN_TOKEN', message, { extra: { soft_logout: softLogout } });

export class SessionService {
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #accessTokenLifetimeMs: number | null;
  readonly #writer: StreamWriter;
  readonly #lastSeenWritten = new Map<string, number>();

  constructor(storage: Storage, clock: Clock, accessTokenLifetimeMs: number | null, writer: StreamWriter) {
    this.#storage = storage;
    this.#clock = clock;
    this.#accessTokenLifetimeMs = accessTokenLifetimeMs;
    this.#writer = writer;
  }

  /** Creates (or re-uses, when the client names its own) a device and issues its tokens, inside the caller's transaction. */
  async create(stores: Stores, userId: string, options: SessionOptions): Promise<NewSession> {
    const now = this.#clock.now();
    const deviceId = options.deviceId ?? newDeviceId();
    const existing = await stores.sessions.getDevice(userId, deviceId);
    if (existing) {
      // The spec: logging in with a known device id invalidates that device's earlier tokens.
      await stores.sessions.deleteAccessTokensOfDevice(userId, deviceId);
    } else {
      await stores.sessions.upsertDevice(userId, deviceId, options.displayName ?? null, now);
    }
    return this.#issueTokens(stores, userId, deviceId, options.refreshable, now);
  }

  async #issueTokens(stores: Stores, userId: string, deviceId: string, refreshable: boolean, now: number): Promise<NewSession> {
    const accessToken = newToken('cad');
    // Access tokens expire only when they come with a refresh token and a lifetime is configured:
    // password-login clients cannot refresh by themselves (see docs), so they would simply be logged out.
    const expiresInMs = refreshable && this.#accessTokenLifetimeMs !== null ? this.#accessTokenLifetimeMs : undefined;
    await stores.sessions.insertAccessToken(hashToken(accessToken), {
      userId,
      deviceId,
      createdTs: now,
      expiresTs: expiresInMs === undefined ? null : now + expiresInMs,
    });
    const session: NewSession = { userId, deviceId, accessToken };
    if (refreshable) {
      const refreshToken = newToken('cadr');
      await stores.sessions.insertRefreshToken(hashToken(refreshToken), { userId, deviceId, createdTs: now, usedTs: null });
      session.refreshToken = refreshToken;
      if (expiresInMs !== undefined) session.expiresInMs = expiresInMs;
    }
    return session;
  }

  /** Turns a bearer token into the principal it belongs to, or answers 401 M_UNKNOWN_TOKEN. */
  async authenticate(accessToken: string, clientAddress: string, userAgent: string | null): Promise<Principal> {
    const record = await this.#storage.sessions.findAccessToken(hashToken(accessToken));
    if (!record) throw unknownToken(false);
    const now = this.#clock.now();
    // An expired token may be refreshed: soft logout tells the client to keep its local data.
    if (record.expiresTs !== null && record.expiresTs <= now) throw unknownToken(true, 'Access token has expired');
    this.#noteSeen(record.userId, record.deviceId, now, clientAddress, userAgent);
    return { userId: record.userId, deviceId: record.deviceId };
  }

  #noteSeen(userId: string, deviceId: string, now: number, ip: string, userAgent: string | null) {
    const key = `${userId}\u0000${deviceId}`;
    const last = this.#lastSeenWritten.get(key);
    if (last !== undefined && now - last < LAST_SEEN_WRITE_INTERVAL_MS) return;
    this.#lastSeenWritten.set(key, now);
    if (this.#lastSeenWritten.size > 50_000) this.#lastSeenWritten.clear();
    // Fire and forget: a failed "last seen" write must not fail the request it describes.
    this.#storage.sessions.recordDeviceSeen(userId, deviceId, now, ip, userAgent).catch(() => {});
  }

  /** Exchanges a refresh token for new tokens. Each refresh token works once; reuse ends the session. */
  async refresh(refreshToken: string): Promise<NewSession> {
    const tokenHash = hashToken(refreshToken);
    type Outcome = { kind: 'issued'; session: NewSession } | { kind: 'reused'; userId: string; deviceId: string };
    const outcome = await this.#storage.transaction(async (stores): Promise<Outcome> => {
      const record = await stores.sessions.findRefreshToken(tokenHash);
      if (!record) throw unknownToken(false, 'Unknown refresh token');
      const now = this.#clock.now();
      if (!(await stores.sessions.markRefreshTokenUsed(tokenHash, now))) return { kind: 'reused', userId: record.userId, deviceId: record.deviceId };
      await stores.sessions.deleteAccessTokensOfDevice(record.userId, record.deviceId);
      return { kind: 'issued', session: await this.#issueTokens(stores, record.userId, record.deviceId, true, now) };
    });
    if (outcome.kind === 'reused') {
      // A used refresh token presented again means it was copied: end the whole session. This runs
      // after the transaction, so refusing the request does not roll the revocation back.
      await this.endDevices(outcome.userId, [outcome.deviceId]);
      throw unknownToken(false, 'Refresh token was already used; the session has been ended');
    }
    return outcome.session;
  }

  /** Ends sessions: their tokens answer M_UNKNOWN_TOKEN from now on, and peers learn the devices are gone. */
  async endDevices(userId: string, deviceIds: readonly string[]): Promise<void> {
    await this.#writer.write(async (ctx) => {
      await ctx.stores.sessions.deleteDevices(userId, deviceIds);
      await recordDeviceListChange(ctx, userId);
    });
  }

  async endAllDevices(userId: string, exceptDeviceId?: string): Promise<string[]> {
    return this.#writer.write(async (ctx) => {
      const ended = await ctx.stores.sessions.deleteAllDevices(userId, exceptDeviceId);
      if (ended.length > 0) await recordDeviceListChange(ctx, userId);
      return ended;
    });
  }
}
