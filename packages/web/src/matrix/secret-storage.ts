/**
 * The secret storage key (the "recovery key") while it is in use, held in memory only: handed to the
 * SDK when it creates secret storage (to store the cross-signing and backup keys in it) and when it
 * reads from it (restoring on a new device). Never written to localStorage or IndexedDB.
 */
import type { CryptoCallbacks } from 'matrix-js-sdk/lib/crypto-api/index.js';

let held: { keyId?: string; key: Uint8Array<ArrayBuffer> } | undefined;

/** Holds a key the user typed in (its id is not known yet: it is tried as the default key). */
export function holdSecretStorageKey(key: Uint8Array<ArrayBuffer>): void {
  held = { key };
}

export function forgetSecretStorageKey(): void {
  held = undefined;
}

export const cryptoCallbacks: CryptoCallbacks = {
  getSecretStorageKey: async ({ keys }) => {
    if (!held) return null;
    const keyId = held.keyId && keys[held.keyId] ? held.keyId : Object.keys(keys)[0];
    return keyId ? [keyId, held.key] : null;
  },
  cacheSecretStorageKey: (keyId, _info, key) => {
    held = { keyId, key };
  },
};
