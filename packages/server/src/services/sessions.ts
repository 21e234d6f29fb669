/**
 * Sessions: a device of a user and the tokens that let it in. Issues tokens at login and registration,
 * turns a bearer token into a principal, rotates refresh tokens, enforces the organisation's
 * automatic logoff (inactivity and absolute lifetime: soft logout) and ends sessions (logout,
 * deletion, remote wipe: hard logout, remembered so the device is told to erase its data).
 */
import { MatrixError } from '@caduceus/core';
import type { AuditActor } from '../compliance/audit/index.ts';
import type { AccessTokenLookup, EndReason, Storage, Stores } from '../storage/index.ts';
import { hashToken, newDeviceId, newToken } from './secrets.ts';
import { recordDeviceListChange } from './device-lists.ts';
import type { ServiceDeps } from './index.ts';
import { ActivityTracker, deviceKeyOf, expiryOf, type DeviceTimes, type SessionPolicy } from './session-policy.ts';
import { SessionCache, type CachedSession } from './session-cache.ts';
import type { Notifier } from './notifier.ts';
import type { StreamWriter, WriteContext } from './stream-writer.ts';

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

/** How a session ends, and who ended it (for the audit trail; the current request fills the rest). */
export interface Ending {
  reason: EndReason;
  actor?: AuditActor | undefined;
  /** More to write in the ending's transaction (an admin call's own audit entry): both commit or neither. */
  alsoIn?: ((stores: Stores, deviceIds: readonly string[]) => Promise<void>) | undefined;
}

/** Called after sessions end, e.g. to revoke OAuth grants of those devices. */
export type SessionsEndedListener = (userId: string, deviceIds: readonly string[], reason: EndReason) => Promise<void> | void;

/** How often a device's "last seen" is written at most (the in-memory activity is exact). */
const LAST_SEEN_WRITE_INTERVAL_MS = 60_000;
/** How long a token of an ended session is remembered (a device offline longer gets the generic answer, also a hard logout). */
const ENDED_TOKEN_MEMORY_MS = 90 * 24 * 3_600_000;

const unknownToken = (softLogout: boolean, message = 'Unknown or expired access token') =>
  new MatrixError('M_UNKNOWN_TOKEN', message, { extra: { soft_logout: softLogout } });

/** The audit action for each way a session ends. */
const AUDIT_ACTION: Record<EndReason, string> = {
  logout: 'auth.logout',
  deleted: 'device.delete',
  wipe: 'session.wipe',
  deactivated: 'session.wipe',
  password_change: 'session.end',
  refresh_reuse: 'session.end',
};

export class SessionService {
  readonly #storage: Storage;
  readonly #deps: Pick<ServiceDeps, 'clock' | 'audit'>;
  readonly #notifier: Notifier;
  /** Known tokens: a request with one costs no query (see session-cache). */
  readonly #cache: SessionCache;
  readonly #accessTokenLifetimeMs: number | null;
  readonly #writer: StreamWriter;
  readonly #policy: SessionPolicy;
  readonly #activity = new ActivityTracker();
  /** Per device: when its "last seen" may be written again. */
  readonly #lastSeenWritten = new Map<string, number>();
  readonly #expiryRecorded = new Set<string>();
  readonly #endedListeners: SessionsEndedListener[] = [];
  /** Sessions `create` restarted, until other processes have been told (see `announced`). */
  readonly #announcements = new WeakMap<NewSession, Promise<void>>();
  /** Last-seen writes are spaced to a tenth of the idle timeout, so another process enforces it closely. */
  readonly #lastSeenIntervalMs: number;
  #lastPrune = 0;

  constructor(deps: ServiceDeps) {
    this.#storage = deps.storage;
    this.#deps = deps;
    this.#accessTokenLifetimeMs = deps.config.accessTokenLifetimeMs;
    this.#writer = deps.writer;
    this.#policy = deps.config.sessionPolicy;
    this.#notifier = deps.notifier;
    this.#cache = new SessionCache(deps.notifier);
    this.#lastSeenIntervalMs = Math.min(LAST_SEEN_WRITE_INTERVAL_MS, Math.max(1000, (this.#policy.idleTimeoutMs ?? Infinity) / 10));
  }

  get policy(): SessionPolicy {
    return this.#policy;
  }

  onSessionsEnded(listener: SessionsEndedListener): void {
    this.#endedListeners.push(listener);
  }

  /** Creates (or re-uses, when the client names its own) a device and issues its tokens, inside the caller's transaction. */
  async create(stores: Stores, userId: string, options: SessionOptions): Promise<NewSession> {
    const now = this.#deps.clock.now();
    const deviceId = options.deviceId ?? newDeviceId();
    let announcement: Promise<void> | undefined;
    const existing = await stores.sessions.getDevice(userId, deviceId);
    if (existing) {
      // The spec: logging in with a known device id invalidates that device's earlier tokens. It is
      // also how a client recovers from a soft logout: the session (and its lifetime) starts again.
      await stores.sessions.deleteAccessTokensOfDevice(userId, deviceId);
      await stores.sessions.deleteRefreshTokensOfDevice(userId, deviceId);
      await stores.sessions.restartSession(userId, deviceId, now);
      // Inside the caller's transaction, so not awaited here (see `announced`): the notice's write
      // waits for the audit lock the transaction holds, and its publish comes after the commit.
      announcement = this.#announceSessionChange(userId).catch(() => {});
    } else {
      await stores.sessions.upsertDevice(userId, deviceId, options.displayName ?? null, now);
    }
    this.#activity.note(userId, deviceId, now);
    const session = await this.#issueTokens(stores, userId, deviceId, options.refreshable, now);
    if (announcement) this.#announcements.set(session, announcement);
    return session;
  }

  /** After the transaction `create` ran in: resolves once every process has been told that the device's earlier tokens are gone. */
  async announced(session: NewSession): Promise<void> {
    await this.#announcements.get(session);
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

  /** Turns a bearer token into the principal it belongs to (and notes the device's activity), or answers 401 M_UNKNOWN_TOKEN. */
  async authenticate(accessToken: string, clientAddress: string, userAgent: string | null): Promise<Principal> {
    const { principal, now, deviceKey } = await this.#resolve(accessToken);
    this.#activity.note(principal.userId, principal.deviceId, now, deviceKey);
    this.#noteSeen(principal.userId, principal.deviceId, now, clientAddress, userAgent, deviceKey);
    return principal;
  }

  /** Checks that a token is still good without counting it as activity (a held /sync re-checks on waking). */
  async verify(accessToken: string): Promise<void> {
    await this.#resolve(accessToken);
  }

  /** The device's session is alive (exists, within the policy), or M_UNKNOWN_TOKEN; OAuth checks this before a refresh. */
  async assertActive(userId: string, deviceId: string): Promise<void> {
    const device = await this.#storage.sessions.getDevice(userId, deviceId);
    if (!device) throw unknownToken(false, 'This session has ended; sign in again');
    await this.#enforcePolicy(userId, deviceId, device, this.#deps.clock.now());
  }

  /**
   * OAuth (services/oauth): an access token the authorization server issued becomes one of the
   * device's tokens, so the policy, wipe and logout treat it like any other. A new sign-in creates
   * the device or starts its session again (dropping its earlier tokens), as a login naming a known
   * device does; a refresh only adds the token to the live session.
   */
  async adoptAccessToken(userId: string, deviceId: string, accessToken: string, lifetimeMs: number, signIn?: { displayName: string | null }): Promise<void> {
    const now = this.#deps.clock.now();
    const restarted = await this.#storage.transaction(async (stores) => {
      const existing = await stores.sessions.getDevice(userId, deviceId);
      if (signIn && existing) {
        await stores.sessions.deleteAccessTokensOfDevice(userId, deviceId);
        await stores.sessions.deleteRefreshTokensOfDevice(userId, deviceId);
        await stores.sessions.restartSession(userId, deviceId, now);
      } else if (signIn) {
        await stores.sessions.upsertDevice(userId, deviceId, signIn.displayName, now);
      } else if (!existing) {
        throw unknownToken(false, 'This session has ended; sign in again');
      }
      await stores.sessions.insertAccessToken(hashToken(accessToken), { userId, deviceId, createdTs: now, expiresTs: now + lifetimeMs });
      return signIn !== undefined && existing !== undefined;
    });
    if (restarted) await this.#announceSessionChange(userId);
    this.#activity.note(userId, deviceId, now);
  }

  async #resolve(accessToken: string): Promise<{ principal: Principal; now: number; deviceKey: string }> {
    const tokenHash = hashToken(accessToken);
    const checkedAt = this.#deps.clock.now();
    const known = this.#cache.get(tokenHash, checkedAt);
    // A known token within the policy needs no query; one that seems expired is read again (another
    // process may have seen the device active since), so only the database's answer refuses.
    if (known && this.#alive(known, checkedAt)) {
      if (this.#cache.claimRefresh(tokenHash, checkedAt)) void this.#refreshCached(tokenHash);
      return { principal: { userId: known.userId, deviceId: known.deviceId }, now: checkedAt, deviceKey: known.deviceKey };
    }
    const generation = this.#cache.generation;
    const record = await this.#storage.sessions.findAccessToken(tokenHash);
    if (!record?.device) throw await this.#unknownOrEnded(this.#storage, tokenHash);
    const now = this.#deps.clock.now();
    await this.#enforcePolicy(record.userId, record.deviceId, record.device, now);
    // An expired token may be refreshed: soft logout tells the client to keep its local data.
    if (record.expiresTs !== null && record.expiresTs <= now) throw unknownToken(true, 'Access token has expired');
    const deviceKey = this.#remember(tokenHash, record, record.device, generation, now);
    return { principal: { userId: record.userId, deviceId: record.deviceId }, now, deviceKey };
  }

  #remember(tokenHash: string, record: AccessTokenLookup, device: DeviceTimes, generation: number, now: number): string {
    const deviceKey = deviceKeyOf(record.userId, record.deviceId);
    this.#cache.remember(tokenHash, { userId: record.userId, deviceId: record.deviceId, expiresTs: record.expiresTs, device, deviceKey }, generation, now);
    return deviceKey;
  }

  /**
   * Reads a known token again while the cache still serves it (see SessionCache.claimRefresh). Every
   * request still checks the policy and expiry against what is cached; a token gone from the database
   * is dropped, so the next request reads it and gets the reason. A failed read changes nothing:
   * the entry ends at its time and is then read on the request path.
   */
  async #refreshCached(tokenHash: string): Promise<void> {
    const generation = this.#cache.generation;
    try {
      const record = await this.#storage.sessions.findAccessToken(tokenHash);
      if (record?.device) this.#remember(tokenHash, record, record.device, generation, this.#deps.clock.now());
      else this.#cache.forget(tokenHash);
    } catch {
      // Left to expire.
    }
  }

  #alive(session: CachedSession, now: number): boolean {
    if (session.expiresTs !== null && session.expiresTs <= now) return false;
    return expiryOf(this.#policy, session.device, this.#activity.lastOf(session.userId, session.deviceId, session.deviceKey), now).expired === false;
  }

  /**
   * A session of the user restarted outside an ending (its earlier tokens were deleted): this
   * process forgets the user's known tokens, and other processes do when the mark reaches them.
   */
  async #announceSessionChange(userId: string) {
    this.#cache.forgetUser(userId);
    if (this.#notifier.soleWriter) return;
    await this.#writer.write(
      async (ctx) => {
        await ctx.nextPosition();
        ctx.mark('sessions', [userId]);
      },
      { checksBeforeWriting: true },
    );
  }

  /** A token we do not know: if it belonged to a session that was ended on purpose, say so. */
  async #unknownOrEnded(stores: Stores, tokenHash: string): Promise<MatrixError> {
    const ended = await stores.sessions.findEndedToken(tokenHash);
    if (ended?.reason === 'wipe' || ended?.reason === 'deactivated') {
      return unknownToken(false, 'This session was ended remotely; erase local data and sign in again');
    }
    if (ended) return unknownToken(false, 'This session has ended; sign in again');
    return unknownToken(false);
  }

  /** Automatic logoff: an idle or too old session answers soft logout (the client keeps its data and signs in again). */
  async #enforcePolicy(userId: string, deviceId: string, device: DeviceTimes, now: number): Promise<void> {
    const expiry = expiryOf(this.#policy, device, this.#activity.lastOf(userId, deviceId), now);
    if (!expiry.expired) return;
    // Recorded once per session and process, not for every refused request.
    const key = `${userId}\u0000${deviceId}\u0000${expiry.startedTs}`;
    if (!this.#expiryRecorded.has(key)) {
      if (this.#expiryRecorded.size > 50_000) this.#expiryRecorded.clear();
      this.#expiryRecorded.add(key);
      await this.#deps.audit.record({
        action: 'session.expire',
        outcome: 'success',
        actor: { userId, deviceId },
        target: { userId, deviceId },
        details: { reason: expiry.expired },
      });
    }
    throw unknownToken(true, expiry.expired === 'idle' ? 'Signed out after a period of inactivity; sign in again' : 'The session reached its maximum lifetime; sign in again');
  }

  #noteSeen(userId: string, deviceId: string, now: number, ip: string, userAgent: string | null, key: string) {
    const due = this.#lastSeenWritten.get(key);
    if (due !== undefined && now < due && now >= due - this.#lastSeenIntervalMs) return;
    // The next write is due after a random part of the last half of the interval: devices first
    // seen together (clients reconnecting after a restart) would otherwise write in one burst every interval.
    this.#lastSeenWritten.set(key, now + this.#lastSeenIntervalMs * (0.5 + Math.random() / 2));
    if (this.#lastSeenWritten.size > 50_000) this.#lastSeenWritten.clear();
    // Fire and forget: a failed "last seen" write must not fail the request it describes.
    this.#storage.sessions.recordDeviceSeen(userId, deviceId, now, ip, userAgent).catch(() => {});
  }

  /** When the session of a device ends by itself under the policy (for the session list). */
  expiryOf(device: DeviceTimes & { userId: string; deviceId: string }, now = this.#deps.clock.now()) {
    return expiryOf(this.#policy, device, this.#activity.lastOf(device.userId, device.deviceId), now);
  }

  /** Exchanges a refresh token for new tokens. Each refresh token works once; reuse ends the session. */
  async refresh(refreshToken: string): Promise<NewSession> {
    const tokenHash = hashToken(refreshToken);
    // The policy applies to refreshing too, checked before the exchange's transaction.
    const found = await this.#storage.sessions.findRefreshToken(tokenHash);
    if (!found) throw await this.#unknownOrEnded(this.#storage, tokenHash);
    const device = await this.#storage.sessions.getDevice(found.userId, found.deviceId);
    if (!device) throw unknownToken(false, 'Unknown refresh token');
    await this.#enforcePolicy(found.userId, found.deviceId, device, this.#deps.clock.now());

    type Outcome = { kind: 'issued'; session: NewSession } | { kind: 'reused'; userId: string; deviceId: string };
    const outcome = await this.#storage.transaction(async (stores): Promise<Outcome> => {
      const record = await stores.sessions.findRefreshToken(tokenHash);
      if (!record) throw unknownToken(false, 'Unknown refresh token');
      const now = this.#deps.clock.now();
      if (!(await stores.sessions.markRefreshTokenUsed(tokenHash, now))) return { kind: 'reused', userId: record.userId, deviceId: record.deviceId };
      await stores.sessions.deleteAccessTokensOfDevice(record.userId, record.deviceId);
      return { kind: 'issued', session: await this.#issueTokens(stores, record.userId, record.deviceId, true, now) };
    });
    // The device's earlier access tokens are gone.
    if (outcome.kind === 'issued') await this.#announceSessionChange(outcome.session.userId);
    if (outcome.kind === 'reused') {
      // A used refresh token presented again means it was copied: end the whole session. This runs
      // after the transaction, so refusing the request does not roll the revocation back.
      await this.endDevices(outcome.userId, [outcome.deviceId], { reason: 'refresh_reuse' });
      throw unknownToken(false, 'Refresh token was already used; the session has been ended');
    }
    this.#activity.note(outcome.session.userId, outcome.session.deviceId, this.#deps.clock.now());
    return outcome.session;
  }

  /** POST /logout: ends the caller's own session. */
  logout(principal: Principal): Promise<void> {
    return this.endDevices(principal.userId, [principal.deviceId], { reason: 'logout' });
  }

  /** POST /logout/all: ends every session of the caller. */
  async logoutAll(principal: Principal): Promise<void> {
    await this.endAllDevices(principal.userId, undefined, { reason: 'logout' });
  }

  /**
   * Remote wipe of one device (by its user from another device, or by an administrator): its tokens
   * answer M_UNKNOWN_TOKEN with soft_logout false at once, its refresh tokens are revoked and a /sync
   * it holds ends. False when the user has no such device.
   */
  async wipeDevice(userId: string, deviceId: string, actor?: AuditActor, alsoIn?: Ending['alsoIn']): Promise<boolean> {
    if (!(await this.#storage.sessions.getDevice(userId, deviceId))) return false;
    await this.endDevices(userId, [deviceId], { reason: 'wipe', actor, alsoIn });
    return true;
  }

  /** Remote wipe of several devices of a user (those that exist); returns the ones ended. */
  async wipeDevices(userId: string, deviceIds: readonly string[], actor?: AuditActor): Promise<string[]> {
    const known = new Set((await this.#storage.sessions.listDevices(userId)).map((d) => d.deviceId));
    const targets = [...new Set(deviceIds)].filter((id) => known.has(id));
    if (targets.length > 0) await this.endDevices(userId, targets, { reason: 'wipe', actor });
    return targets;
  }

  /** Remote wipe of every device of a user (or all but `exceptDeviceId`); returns the devices ended. */
  wipeUser(userId: string, actor?: AuditActor, exceptDeviceId?: string, alsoIn?: Ending['alsoIn']): Promise<string[]> {
    return this.endAllDevices(userId, exceptDeviceId, { reason: 'wipe', actor, alsoIn });
  }

  /** Ends sessions: their tokens answer M_UNKNOWN_TOKEN from now on, and peers learn the devices are gone. */
  async endDevices(userId: string, deviceIds: readonly string[], ending: Ending = { reason: 'logout' }): Promise<void> {
    if (deviceIds.length === 0) return;
    await this.#writer.write(async (ctx) => {
      await ctx.stores.sessions.deleteDevices(userId, deviceIds, { reason: ending.reason, ts: this.#deps.clock.now() });
      await this.#afterEnding(ctx, userId, deviceIds, ending);
    });
    await this.#notifyEnded(userId, deviceIds, ending.reason);
  }

  async endAllDevices(userId: string, exceptDeviceId?: string, ending: Ending = { reason: 'logout' }): Promise<string[]> {
    const ended = await this.#writer.write((ctx) => this.endAllDevicesIn(ctx, userId, ending, exceptDeviceId));
    await this.#notifyEnded(userId, ended, ending.reason);
    return ended;
  }

  /** Ends every session of a user inside the caller's write (deactivation does this with closing the account). */
  async endAllDevicesIn(ctx: WriteContext, userId: string, ending: Ending, exceptDeviceId?: string): Promise<string[]> {
    const ended = await ctx.stores.sessions.deleteAllDevices(userId, { reason: ending.reason, ts: this.#deps.clock.now() }, exceptDeviceId);
    if (ended.length > 0) await this.#afterEnding(ctx, userId, ended, ending);
    return ended;
  }

  /**
   * Inside the ending's write: peers (and the user's own held /sync long-polls, which then re-check
   * their token) are woken by the device-list change; the audit entry commits with it.
   */
  async #afterEnding(ctx: WriteContext, userId: string, deviceIds: readonly string[], ending: Ending) {
    await recordDeviceListChange(ctx, userId);
    // Every process forgets the user's known tokens when this commits, before any long-poll wakes.
    ctx.mark('sessions', [userId]);
    for (const deviceId of deviceIds) this.#activity.forget(userId, deviceId);
    await this.#deps.audit.record(
      {
        action: AUDIT_ACTION[ending.reason],
        outcome: 'success',
        ...(ending.actor ? { actor: ending.actor } : {}),
        target: deviceIds.length === 1 ? { userId, deviceId: deviceIds[0]! } : { userId },
        details: { reason: ending.reason, devices: deviceIds.length, deviceIds: deviceIds.join(' ') },
      },
      ctx.stores,
    );
    await ending.alsoIn?.(ctx.stores, deviceIds);
    const now = this.#deps.clock.now();
    if (now - this.#lastPrune > 3_600_000) {
      this.#lastPrune = now;
      await ctx.stores.sessions.pruneEndedTokens(now - ENDED_TOKEN_MEMORY_MS);
    }
  }

  async #notifyEnded(userId: string, deviceIds: readonly string[], reason: EndReason) {
    if (deviceIds.length === 0) return;
    for (const listener of this.#endedListeners) await listener(userId, deviceIds, reason);
  }
}
