/**
 * End-to-end encryption keys (spec: "End-to-End Encryption", "Cross-signing"): devices publish their
 * identity keys and one-time keys; others look them up and claim one-time keys to start Olm sessions.
 * The server stores key objects as uploaded and hands them back verbatim, so clients can verify them.
 */
import { canonicalJson, MatrixError } from '@caduceus/core';
import { verifyJsonSignature } from '../crypto/signing-key.ts';
import type { Storage, Stores } from '../storage/index.ts';
import type { OneTimeKeyInput, SignatureRow } from '../storage/keys.ts';
import type { ServiceDeps } from './index.ts';
import type { Clock } from './clock.ts';
import type { Principal } from './sessions.ts';
import type { StreamWriter } from './stream-writer.ts';
import { recordDeviceListChange } from './device-lists.ts';
import type { UiaService } from './uia.ts';
import { parseSyncToken } from './sync/sync.ts';
import type { Notifier } from './notifier.ts';
import { KeyCountCache, type KeyCounts } from './key-count-cache.ts';

type Json = Record<string, unknown>;

export interface UploadRequest {
  device_keys?: Json | undefined;
  one_time_keys?: Record<string, unknown> | undefined;
  fallback_keys?: Record<string, unknown> | undefined;
}

export interface QueryResponse {
  device_keys: Record<string, Record<string, Json>>;
  failures: Record<string, Json>;
  master_keys: Record<string, Json>;
  self_signing_keys: Record<string, Json>;
  user_signing_keys: Record<string, Json>;
}

const CROSS_SIGNING_TYPES = ['master', 'self_signing', 'user_signing'] as const;
type CrossSigningType = (typeof CROSS_SIGNING_TYPES)[number];

const invalid = (message: string) => new MatrixError('M_INVALID_PARAM', message);
const badSignature = (message: string) => new MatrixError('M_INVALID_SIGNATURE', message);

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The object without the parts others may add to it (signatures) or the server owns (unsigned). */
function signedPart(object: Json): string {
  const { signatures: _s, unsigned: _u, ...rest } = object;
  return canonicalJson(rest);
}

/** "signed_curve25519:AAAAHg" → ["signed_curve25519", "AAAAHg"]. */
function splitKeyName(name: string): [string, string] {
  const at = name.indexOf(':');
  if (at <= 0 || at === name.length - 1) throw invalid(`Key name "${name}" must be "<algorithm>:<key id>"`);
  return [name.slice(0, at), name.slice(at + 1)];
}

/** The single public key of a cross-signing key object: [key id, public key]. */
function crossSigningPublicKey(key: Json): [string, string] | undefined {
  const keys = key.keys;
  if (!isObject(keys)) return undefined;
  const entries = Object.entries(keys);
  if (entries.length !== 1) return undefined;
  const [keyId, value] = entries[0]!;
  if (!keyId.startsWith('ed25519:') || typeof value !== 'string') return undefined;
  return [keyId, value];
}

function mergeSignatures(object: Json, signatures: readonly SignatureRow[]): Json {
  if (signatures.length === 0) return object;
  const merged: Record<string, Record<string, unknown>> = {};
  for (const [signer, sigs] of Object.entries(isObject(object.signatures) ? object.signatures : {})) merged[signer] = { ...(isObject(sigs) ? sigs : {}) };
  for (const s of signatures) (merged[s.signerUserId] ??= {})[s.signerKeyId] = s.signature;
  return { ...object, signatures: merged };
}

export class KeyService {
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #writer: StreamWriter;
  readonly #uia: UiaService;
  readonly #audit: ServiceDeps['audit'];
  readonly #notifier: Notifier;
  /** What every /sync answer tells a device of its own keys (see key-count-cache). */
  readonly #counts: KeyCountCache;

  constructor(deps: Pick<ServiceDeps, 'storage' | 'clock' | 'writer' | 'audit' | 'notifier'>, uia: UiaService) {
    this.#storage = deps.storage;
    this.#clock = deps.clock;
    this.#writer = deps.writer;
    this.#uia = uia;
    this.#audit = deps.audit;
    this.#notifier = deps.notifier;
    this.#counts = new KeyCountCache(deps.notifier);
  }

  /** POST /keys/upload: the device's identity keys, one-time keys and fallback keys. */
  async upload(principal: Principal, request: UploadRequest): Promise<{ one_time_key_counts: Record<string, number> }> {
    const { userId, deviceId } = principal;
    const deviceKeys = request.device_keys !== undefined ? this.#checkDeviceKeys(principal, request.device_keys) : undefined;
    const oneTimeKeys = this.#keyList(request.one_time_keys ?? {});
    const fallbackKeys = this.#keyList(request.fallback_keys ?? {});
    if (new Set(fallbackKeys.map((k) => k.algorithm)).size !== fallbackKeys.length) throw invalid('At most one fallback key per algorithm');

    if (deviceKeys !== undefined) {
      const unchanged = async (stores: Stores) => {
        const existing = await stores.keys.getDeviceKeys(userId, deviceId);
        if (existing !== undefined && signedPart(JSON.parse(existing) as Json) !== signedPart(deviceKeys)) {
          throw invalid('This device already has different identity keys; log in as a new device to change them');
        }
        return existing !== undefined && canonicalJson(JSON.parse(existing)) === canonicalJson(deviceKeys);
      };
      // Checked outside the writer first (the common re-upload costs no stream position), then again inside it.
      if (!(await unchanged(this.#storage))) {
        const json = JSON.stringify(deviceKeys);
        await this.#writer.write(async (ctx) => {
          if (await unchanged(ctx.stores)) return;
          await ctx.stores.keys.putDeviceKeys(userId, deviceId, json, this.#clock.now());
          await recordDeviceListChange(ctx, userId);
          await this.#audit.record({ action: 'keys.upload', outcome: 'success', target: { userId, deviceId }, details: { kind: 'device_keys' } }, ctx.stores);
        });
      }
    }

    if (oneTimeKeys.length > 0 || fallbackKeys.length > 0) {
      await this.#audit.transaction(async (stores) => {
        const existing = await stores.keys.existingOneTimeKeys(userId, deviceId, oneTimeKeys);
        for (const key of oneTimeKeys) {
          const old = existing.get(`${key.algorithm}:${key.keyId}`);
          if (old !== undefined && canonicalJson(JSON.parse(old)) !== canonicalJson(JSON.parse(key.keyJson))) {
            throw invalid(`One-time key ${key.algorithm}:${key.keyId} already exists with different content`);
          }
        }
        await stores.keys.insertOneTimeKeys(userId, deviceId, oneTimeKeys.filter((k) => !existing.has(`${k.algorithm}:${k.keyId}`)));
        for (const key of fallbackKeys) {
          const old = await stores.keys.getFallbackKey(userId, deviceId, key.algorithm);
          // The same key sent again keeps its "used" mark; a new one replaces it, unused.
          if (old && old.keyId === key.keyId && canonicalJson(JSON.parse(old.keyJson)) === canonicalJson(JSON.parse(key.keyJson))) continue;
          await stores.keys.putFallbackKey(userId, deviceId, key);
        }
        await this.#audit.record(
          { action: 'keys.upload', outcome: 'success', target: { userId, deviceId }, details: { kind: 'one_time_keys', oneTimeKeys: oneTimeKeys.length, fallbackKeys: fallbackKeys.length } },
          stores,
        );
      });
      await this.#countsChanged([userId]);
    }
    return { one_time_key_counts: await this.oneTimeKeyCounts(userId, deviceId) };
  }

  /** Unclaimed one-time keys of a device by algorithm (the upload's answer; /sync takes `syncKeyCounts`). */
  async oneTimeKeyCounts(userId: string, deviceId: string): Promise<Record<string, number>> {
    return (await this.#countsOf(userId, deviceId)).oneTimeKeys;
  }

  /** Algorithms of the device's fallback keys not yet handed out (/sync takes them from `syncKeyCounts`). */
  async unusedFallbackKeyTypes(userId: string, deviceId: string): Promise<string[]> {
    return [...(await this.#countsOf(userId, deviceId)).unusedFallbackTypes];
  }

  /**
   * The two /sync slots of a device's key counts (`signed_curve25519` always present). From memory
   * without a promise when known: every /sync answer asks. The objects are shared: read-only.
   */
  syncKeyCounts(userId: string, deviceId: string): SyncKeyCounts | Promise<SyncKeyCounts> {
    const known = this.#counts.get(userId, deviceId);
    return known ? syncSlotsOf(known) : this.#countsOf(userId, deviceId).then(syncSlotsOf);
  }

  async #countsOf(userId: string, deviceId: string): Promise<KeyCounts> {
    const known = this.#counts.get(userId, deviceId);
    if (known) return known;
    const generation = this.#counts.generation;
    const counts = {
      oneTimeKeys: await this.#storage.keys.countOneTimeKeys(userId, deviceId),
      unusedFallbackTypes: await this.#storage.keys.unusedFallbackKeyTypes(userId, deviceId),
    };
    this.#counts.remember(userId, deviceId, counts, generation);
    return counts;
  }

  /** One-time or fallback keys of these users were stored or handed out: every process drops their counts. */
  async #countsChanged(userIds: readonly string[]) {
    this.#counts.forgetUsers(userIds);
    if (this.#notifier.soleWriter) return;
    await this.#writer.write(
      async (ctx) => {
        await ctx.nextPosition();
        ctx.mark('oneTimeKeys', userIds);
      },
      { checksBeforeWriting: true },
    );
  }

  /** POST /keys/query: device and cross-signing keys of the users asked about. */
  async query(principal: Principal, request: Record<string, readonly string[]>): Promise<QueryResponse> {
    const userIds = Object.keys(request);
    const response: QueryResponse = { device_keys: {}, failures: {}, master_keys: {}, self_signing_keys: {}, user_signing_keys: {} };
    if (userIds.length === 0) return response;
    const signatures = await this.#storage.keys.signaturesOn(userIds);
    const signaturesOn = (userId: string, keyId: string) => signatures.filter((s) => s.targetUserId === userId && s.targetKeyId === keyId);
    for (const row of await this.#storage.keys.deviceKeysOf(userIds)) {
      const wanted = request[row.userId] ?? [];
      if (wanted.length > 0 && !wanted.includes(row.deviceId)) continue;
      const keys = mergeSignatures(JSON.parse(row.keyJson) as Json, signaturesOn(row.userId, row.deviceId));
      const unsigned = row.displayName !== null ? { device_display_name: row.displayName } : {};
      (response.device_keys[row.userId] ??= {})[row.deviceId] = { ...keys, unsigned };
    }
    for (const userId of userIds) {
      const crossSigning = await this.#storage.keys.crossSigningKeys(userId);
      for (const type of CROSS_SIGNING_TYPES) {
        const json = crossSigning[type];
        if (json === undefined || (type === 'user_signing' && userId !== principal.userId)) continue;
        const key = JSON.parse(json) as Json;
        const publicKey = crossSigningPublicKey(key)?.[1];
        const merged = publicKey !== undefined ? mergeSignatures(key, signaturesOn(userId, publicKey)) : key;
        response[`${type}_keys`][userId] = merged;
      }
    }
    return response;
  }

  /** POST /keys/claim: one one-time key per device asked for (each key handed out once), else its fallback key. */
  async claim(request: Record<string, Record<string, string>>): Promise<{ one_time_keys: Record<string, Record<string, Json>>; failures: Json }> {
    const oneTimeKeys: Record<string, Record<string, Json>> = {};
    try {
      for (const [userId, devices] of Object.entries(request)) {
        for (const [deviceId, algorithm] of Object.entries(devices)) {
          const key =
            (await this.#storage.keys.claimOneTimeKey(userId, deviceId, algorithm)) ??
            (await this.#storage.keys.claimFallbackKey(userId, deviceId, algorithm));
          if (!key) continue;
          (oneTimeKeys[userId] ??= {})[deviceId] = { [`${algorithm}:${key.keyId}`]: JSON.parse(key.keyJson) as unknown };
        }
      }
    } finally {
      // Also when a later claim failed: the keys handed out so far are gone.
      const claimedFrom = Object.keys(oneTimeKeys);
      if (claimedFrom.length > 0) await this.#countsChanged(claimedFrom);
    }
    return { one_time_keys: oneTimeKeys, failures: {} };
  }

  /** GET /keys/changes: users sharing a room with the caller whose keys changed between two sync tokens. */
  async changes(principal: Principal, from: string, to: string): Promise<{ changed: string[]; left: string[] }> {
    const after = parseSyncToken(from);
    const upTo = parseSyncToken(to);
    if (upTo <= after) return { changed: [], left: [] };
    const changed = await this.#storage.keys.usersChangedBetween(after, upTo);
    if (changed.length === 0) return { changed: [], left: [] };
    const visible = await this.#usersSharingRoomsWith(principal.userId);
    return { changed: changed.filter((u) => visible.has(u)).sort(), left: [] };
  }

  /** POST /keys/device_signing/upload: the user's cross-signing keys. Replacing an existing master key needs the password. */
  async uploadCrossSigningKeys(principal: Principal, request: Partial<Record<`${CrossSigningType}_key`, Json>>, auth: unknown, clientAddress: string): Promise<void> {
    const { userId } = principal;
    const existing = await this.#storage.keys.crossSigningKeys(userId);
    const uploaded: Array<[CrossSigningType, Json]> = [];
    for (const type of CROSS_SIGNING_TYPES) {
      const key = request[`${type}_key`];
      if (key === undefined) continue;
      if (key.user_id !== userId) throw invalid(`${type}_key must belong to ${userId}`);
      if (!Array.isArray(key.usage) || !key.usage.includes(type)) throw invalid(`${type}_key must have usage "${type}"`);
      if (!crossSigningPublicKey(key)) throw invalid(`${type}_key must hold exactly one ed25519 key`);
      uploaded.push([type, key]);
    }
    if (uploaded.length === 0) return;
    const masterJson = request.master_key ?? (existing.master !== undefined ? (JSON.parse(existing.master) as Json) : undefined);
    if (!masterJson) throw invalid('A master key is needed before other cross-signing keys');
    const [masterKeyId, masterPublic] = crossSigningPublicKey(masterJson)!;
    for (const [type, key] of uploaded) {
      if (type === 'master') continue;
      if (!verifyJsonSignature(key, userId, masterKeyId, masterPublic)) throw badSignature(`${type}_key must be signed by the master key`);
    }
    const changesExisting = uploaded.some(([type, key]) => existing[type] !== undefined && signedPart(JSON.parse(existing[type]!) as Json) !== signedPart(key));
    if (changesExisting) {
      const session = await this.#uia.authenticate(auth, { purpose: 'device_signing_upload', userId, flows: [['m.login.password']], clientAddress });
      await this.#uia.finish(session);
    }
    await this.#writer.write(async (ctx) => {
      for (const [type, key] of uploaded) await ctx.stores.keys.putCrossSigningKey(userId, type, JSON.stringify(key), this.#clock.now());
      await recordDeviceListChange(ctx, userId);
      await this.#audit.record(
        { action: 'keys.cross_signing', outcome: 'success', target: { userId }, details: { keys: uploaded.map(([type]) => type).join(' '), replaced: changesExisting } },
        ctx.stores,
      );
    });
  }

  /**
   * POST /keys/signatures/upload: signatures by the caller's cross-signing (or device) keys on
   * device keys and cross-signing keys. Each new signature must verify; bad ones are reported in `failures`.
   */
  async uploadSignatures(principal: Principal, request: Record<string, Record<string, Json>>): Promise<{ failures: Record<string, Record<string, Json>> }> {
    const signer = principal.userId;
    const signerKeys = new Map<string, string>();
    const ownCrossSigning = await this.#storage.keys.crossSigningKeys(signer);
    for (const json of Object.values(ownCrossSigning)) {
      const pk = crossSigningPublicKey(JSON.parse(json) as Json);
      if (pk) signerKeys.set(pk[0], pk[1]);
    }
    for (const row of await this.#storage.keys.deviceKeysOf([signer])) {
      const keys = (JSON.parse(row.keyJson) as Json).keys;
      const ed = isObject(keys) ? keys[`ed25519:${row.deviceId}`] : undefined;
      if (typeof ed === 'string') signerKeys.set(`ed25519:${row.deviceId}`, ed);
    }
    const failures: Record<string, Record<string, Json>> = {};
    const fail = (userId: string, keyId: string, errcode: string, error: string) => ((failures[userId] ??= {})[keyId] = { errcode, error });
    const accepted: SignatureRow[] = [];
    for (const [targetUserId, targets] of Object.entries(request)) {
      const deviceRows = await this.#storage.keys.deviceKeysOf([targetUserId]);
      const crossSigning = Object.values(await this.#storage.keys.crossSigningKeys(targetUserId)).map((j) => JSON.parse(j) as Json);
      for (const [keyId, object] of Object.entries(targets)) {
        if (!isObject(object)) {
          fail(targetUserId, keyId, 'M_INVALID_PARAM', 'Not a key object');
          continue;
        }
        const device = deviceRows.find((d) => d.deviceId === keyId);
        const stored = device ? (JSON.parse(device.keyJson) as Json) : crossSigning.find((k) => crossSigningPublicKey(k)?.[1] === keyId);
        if (!stored) {
          fail(targetUserId, keyId, 'M_NOT_FOUND', 'No such key');
          continue;
        }
        if (signedPart(stored) !== signedPart(object)) {
          fail(targetUserId, keyId, 'M_INVALID_PARAM', 'The signed object differs from the stored key');
          continue;
        }
        const theirs = isObject(object.signatures) ? object.signatures[signer] : undefined;
        const already = isObject(stored.signatures) && isObject(stored.signatures[signer]) ? stored.signatures[signer] : {};
        let added = 0;
        for (const [signerKeyId, signature] of Object.entries(isObject(theirs) ? theirs : {})) {
          if (already[signerKeyId] === signature) continue;
          const publicKey = signerKeys.get(signerKeyId);
          if (typeof signature !== 'string' || publicKey === undefined || !verifyJsonSignature(object, signer, signerKeyId, publicKey)) {
            fail(targetUserId, keyId, 'M_INVALID_SIGNATURE', `Signature ${signerKeyId} does not verify`);
            continue;
          }
          accepted.push({ targetUserId, targetKeyId: keyId, signerUserId: signer, signerKeyId, signature });
          added++;
        }
        if (added === 0 && !failures[targetUserId]?.[keyId]) fail(targetUserId, keyId, 'M_INVALID_SIGNATURE', 'No new signature by the caller');
      }
    }
    if (accepted.length > 0) {
      await this.#writer.write(async (ctx) => {
        for (const row of accepted) await ctx.stores.keys.putSignature(row);
        for (const userId of new Set(accepted.map((r) => r.targetUserId))) await recordDeviceListChange(ctx, userId);
        const targets = [...new Set(accepted.map((r) => `${r.targetUserId} ${r.targetKeyId}`))];
        await this.#audit.record({ action: 'keys.signatures', outcome: 'success', details: { signatures: accepted.length, keys: targets.join(', ').slice(0, 2000) } }, ctx.stores);
      });
    }
    return { failures };
  }

  async #usersSharingRoomsWith(userId: string): Promise<Set<string>> {
    const users = new Set([userId]);
    for (const m of await this.#storage.events.roomsOf(userId)) {
      if (m.membership !== 'join') continue;
      for (const member of await this.#storage.events.members(m.roomId, ['join', 'invite'])) users.add(member.userId);
    }
    return users;
  }

  #checkDeviceKeys(principal: Principal, deviceKeys: Json): Json {
    if (deviceKeys.user_id !== principal.userId || deviceKeys.device_id !== principal.deviceId) {
      throw invalid('device_keys.user_id and device_id must be those of the calling device');
    }
    if (!Array.isArray(deviceKeys.algorithms) || !deviceKeys.algorithms.every((a) => typeof a === 'string')) throw invalid('device_keys.algorithms must be a list of strings');
    const keys = deviceKeys.keys;
    if (!isObject(keys) || !Object.values(keys).every((k) => typeof k === 'string')) throw invalid('device_keys.keys must map key ids to keys');
    const signingKeyId = `ed25519:${principal.deviceId}`;
    const signingKey = keys[signingKeyId];
    if (typeof signingKey !== 'string') throw invalid(`device_keys.keys must hold ${signingKeyId}`);
    if (!verifyJsonSignature(deviceKeys, principal.userId, signingKeyId, signingKey)) {
      throw badSignature('device_keys must be signed by the device\'s own ed25519 key');
    }
    const { unsigned: _u, ...stored } = deviceKeys;
    return stored;
  }

  #keyList(keys: Record<string, unknown>): OneTimeKeyInput[] {
    return Object.entries(keys).map(([name, value]) => {
      const [algorithm, keyId] = splitKeyName(name);
      if (typeof value !== 'string' && !isObject(value)) throw invalid(`Key ${name} must be a string or an object`);
      return { algorithm, keyId, keyJson: JSON.stringify(value) };
    });
  }
}

export interface SyncKeyCounts {
  device_one_time_keys_count: Record<string, number>;
  device_unused_fallback_key_types: string[];
}

/** The /sync slots of cached counts, made once per counts object. */
const syncSlots = new WeakMap<KeyCounts, SyncKeyCounts>();

function syncSlotsOf(counts: KeyCounts): SyncKeyCounts {
  let slots = syncSlots.get(counts);
  if (!slots) {
    // Always present and accurate: a client missing them uploads keys on every sync (or never a fallback key).
    slots = { device_one_time_keys_count: { signed_curve25519: 0, ...counts.oneTimeKeys }, device_unused_fallback_key_types: [...counts.unusedFallbackTypes] };
    syncSlots.set(counts, slots);
  }
  return slots;
}
