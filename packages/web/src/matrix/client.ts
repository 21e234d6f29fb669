/**
 * Creates and starts the matrix-js-sdk client for a session: Rust crypto with its store in IndexedDB
 * (the wasm module is fetched from this origin), then sync. Every request carries the access token in
 * the Authorization header only.
 */
import { createClient, type MatrixClient } from 'matrix-js-sdk';
import { homeserverUrl, type StoredSession } from './session.ts';
import { cryptoCallbacks } from './secret-storage.ts';

export const CRYPTO_DB_PREFIX = 'caduceus';

export function makeClient(session?: StoredSession): MatrixClient {
  return createClient({
    baseUrl: homeserverUrl(),
    ...(session ? { userId: session.userId, deviceId: session.deviceId, accessToken: session.accessToken } : {}),
    useAuthorizationHeader: true,
    timelineSupport: true,
    // No calls in this app: don't poll /voip/turnServer.
    disableVoip: true,
    cryptoCallbacks,
  });
}

export async function startMessenger(session: StoredSession): Promise<MatrixClient> {
  const client = makeClient(session);
  await client.initRustCrypto({ useIndexedDB: true, cryptoDatabasePrefix: CRYPTO_DB_PREFIX });
  await client.startClient({ initialSyncLimit: 30, lazyLoadMembers: true });
  return client;
}

/** GET with the session's token, for Caduceus endpoints the SDK doesn't know; undefined on 404. */
export async function getJson<T>(client: MatrixClient, path: string): Promise<T | undefined> {
  const response = await fetch(`${homeserverUrl()}${path}`, { headers: { Authorization: `Bearer ${client.getAccessToken() ?? ''}` } });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  return (await response.json()) as T;
}
