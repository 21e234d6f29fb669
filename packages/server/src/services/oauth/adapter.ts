/**
 * oidc-provider's storage adapter over the OAuth store (one table for every model, both engines).
 * Ids are kept only as hashes (for tokens the id is the token itself) and the payload is stored
 * without its `jti`, so reading the table gives nobody a usable token. Two moments matter to Matrix
 * and are handed to hooks: an access token being issued (it becomes a token of the device) and a
 * grant being revoked (revocation, a refresh token or code used twice: the device's session ends).
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { OAuthStore } from '../../storage/index.ts';
import { hashToken } from '../secrets.ts';
import { deviceOfScope } from './scopes.ts';

export interface AdapterHooks {
  accessTokenIssued(token: string, payload: AdapterPayload, expiresInSeconds: number): Promise<void>;
  grantRevoked(grantId: string, userId: string, deviceId: string): Promise<void>;
}

/** Models whose id is a bearer secret: their payload is stored without it. */
const SECRET_IDS = new Set(['AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'ClientCredentials', 'RegistrationAccessToken', 'InitialAccessToken', 'BackchannelAuthenticationRequest', 'PushedAuthorizationRequest']);

/** Expired rows are swept at most this often (by whichever request comes next). */
const SWEEP_INTERVAL_MS = 10 * 60_000;

/** Where a record's device shows: a token's scope, or a grant's scope for the Matrix resource. */
function deviceOf(payload: AdapterPayload): string | undefined {
  const fromScope = deviceOfScope(payload.scope);
  if (fromScope) return fromScope;
  const resources = (payload as { resources?: Record<string, string> }).resources;
  for (const scope of Object.values(resources ?? {})) {
    const device = deviceOfScope(scope);
    if (device) return device;
  }
  return undefined;
}

export function createAdapterFactory(store: () => OAuthStore, hooks: AdapterHooks) {
  let lastSweep = 0;

  class KyselyOidcAdapter implements Adapter {
    readonly #model: string;
    constructor(model: string) {
      this.#model = model;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      const now = Date.now();
      if (now - lastSweep > SWEEP_INTERVAL_MS) {
        lastSweep = now;
        await store().deleteExpired(now);
      }
      const stored: AdapterPayload = { ...payload };
      if (SECRET_IDS.has(this.#model)) delete stored.jti;
      const deviceId = payload.accountId ? deviceOf(payload) : undefined;
      await store().upsert({
        model: this.#model,
        idHash: hashToken(id),
        payload: JSON.stringify(stored),
        // A grant is its own grant: revoking it by id then takes the grant record too.
        grantId: this.#model === 'Grant' ? id : (payload.grantId ?? null),
        uid: payload.uid ?? null,
        userCode: payload.userCode ?? null,
        userId: payload.accountId ?? null,
        deviceId: deviceId ?? null,
        // oidc-provider keeps its own time (seconds since the epoch); expiry follows it.
        expiresTs: expiresIn ? now + expiresIn * 1000 : null,
        consumedTs: null,
      });
      if (this.#model === 'AccessToken') await hooks.accessTokenIssued(id, payload, expiresIn ?? 0);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      return this.#payloadOf(await store().find(this.#model, hashToken(id)), id);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const record = await store().findByUid(this.#model, uid);
      return this.#payloadOf(record, undefined);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const record = await store().findByUserCode(this.#model, userCode);
      return this.#payloadOf(record, undefined);
    }

    async consume(id: string): Promise<void> {
      await store().consume(this.#model, hashToken(id), Date.now());
    }

    async destroy(id: string): Promise<void> {
      await store().destroy(this.#model, hashToken(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      // Each model reads its own rows before deleting them: the models are revoked concurrently.
      const owner = await this.#ownerOfGrant(grantId);
      await store().revokeByGrantId(this.#model, grantId);
      if (owner) await hooks.grantRevoked(grantId, owner.userId, owner.deviceId);
    }

    async #ownerOfGrant(grantId: string): Promise<{ userId: string; deviceId: string } | undefined> {
      const hashes = await store().idHashesOfGrant(this.#model, grantId);
      for (const hash of hashes) {
        const record = await store().find(this.#model, hash);
        if (record?.userId && record.deviceId) return { userId: record.userId, deviceId: record.deviceId };
      }
      return undefined;
    }

    #payloadOf(record: Awaited<ReturnType<OAuthStore['find']>>, id: string | undefined): AdapterPayload | undefined {
      if (!record) return undefined;
      if (record.expiresTs !== null && record.expiresTs <= Date.now()) return undefined;
      const payload = JSON.parse(record.payload) as AdapterPayload;
      if (id !== undefined && SECRET_IDS.has(this.#model)) payload.jti = id;
      if (record.consumedTs !== null) payload.consumed = Math.floor(record.consumedTs / 1000);
      return payload;
    }
  }

  return (model: string): Adapter => new KyselyOidcAdapter(model);
}
