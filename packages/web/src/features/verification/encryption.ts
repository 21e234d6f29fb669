/**
 * Cross-signing, key backup and recovery with matrix-js-sdk's CryptoApi:
 * - a user's first device creates the cross-signing identity by itself (no existing keys: the server
 *   asks for no password), so people can verify each other from the start;
 * - "Set up key backup" stores the cross-signing keys and a new backup key in secret storage under a
 *   new recovery key, shown once;
 * - on a new device the recovery key unlocks secret storage: cross-signing (this device becomes
 *   verified) and the backup, whose room keys are then restored.
 */
import type { AuthDict, MatrixClient, MatrixError } from 'matrix-js-sdk';
import { decodeRecoveryKey } from 'matrix-js-sdk/lib/crypto-api/index.js';
import { forgetSecretStorageKey, holdSecretStorageKey } from '../../matrix/secret-storage.ts';

export type PasswordPrompt = () => Promise<string | null>;

function cryptoOf(client: MatrixClient) {
  const crypto = client.getCrypto();
  if (!crypto) throw new Error('Encryption is not available in this browser.');
  return crypto;
}

/** Answers the server's user-interactive auth for uploading cross-signing keys: first without, then with the password. */
function uploadAuth(client: MatrixClient, askPassword: PasswordPrompt) {
  return async (makeRequest: (auth: AuthDict | null) => Promise<unknown>): Promise<void> => {
    try {
      await makeRequest(null);
    } catch (error) {
      const session = (error as MatrixError).data?.session as string | undefined;
      if ((error as MatrixError).httpStatus !== 401) throw error;
      const password = await askPassword();
      if (!password) throw new Error('Cancelled');
      await makeRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: client.getUserId()! }, password, ...(session ? { session } : {}) });
    }
  };
}

/** On a user's first device: creates their cross-signing identity (nothing to replace, so no password). */
export async function ensureCrossSigningIdentity(client: MatrixClient): Promise<void> {
  const crypto = cryptoOf(client);
  if (await crypto.isCrossSigningReady()) return;
  if (await crypto.userHasCrossSigningKeys(client.getUserId()!, true)) return; // another device has it: verify or recover
  await crypto.bootstrapCrossSigning({
    authUploadDeviceSigningKeys: async (makeRequest) => {
      await makeRequest(null);
    },
  });
}

export interface EncryptionStatus {
  crossSigningReady: boolean;
  thisDeviceVerified: boolean;
  backupVersion: string | null;
  backupOnServer: boolean;
  secretStorageReady: boolean;
}

export async function encryptionStatus(client: MatrixClient): Promise<EncryptionStatus> {
  const crypto = cryptoOf(client);
  const [crossSigningReady, device, backupVersion, backupInfo, secretStorageReady] = await Promise.all([
    crypto.isCrossSigningReady(),
    crypto.getDeviceVerificationStatus(client.getUserId()!, client.getDeviceId()!),
    crypto.getActiveSessionBackupVersion(),
    crypto.getKeyBackupInfo().catch(() => null),
    crypto.isSecretStorageReady(),
  ]);
  return { crossSigningReady, thisDeviceVerified: device?.crossSigningVerified ?? false, backupVersion, backupOnServer: !!backupInfo, secretStorageReady };
}

/**
 * Sets up secret storage with a new recovery key, stores the cross-signing keys in it (creating them
 * first if needed, with the password), and starts a new key backup. Returns the recovery key to show once.
 */
export async function setUpKeyBackup(client: MatrixClient, askPassword: PasswordPrompt): Promise<string> {
  const crypto = cryptoOf(client);
  let recoveryKey: string | undefined;
  try {
    if (!(await crypto.isCrossSigningReady())) {
      // This device lacks the cross-signing keys: make new ones (replacing keys on the server needs the password).
      await crypto.bootstrapCrossSigning({ setupNewCrossSigning: true, authUploadDeviceSigningKeys: uploadAuth(client, askPassword) });
    }
    await crypto.bootstrapSecretStorage({
      setupNewSecretStorage: true,
      setupNewKeyBackup: true,
      createSecretStorageKey: async () => {
        const generated = await crypto.createRecoveryKeyFromPassphrase();
        recoveryKey = generated.encodedPrivateKey;
        return generated;
      },
    });
  } finally {
    forgetSecretStorageKey();
  }
  if (!recoveryKey) throw new Error('No recovery key was made.');
  return recoveryKey;
}

/** A new device: unlocks secret storage with the recovery key, trusts this device and restores the backed-up room keys. */
export async function recoverWithKey(client: MatrixClient, recoveryKey: string, askPassword: PasswordPrompt): Promise<{ imported: number }> {
  const crypto = cryptoOf(client);
  let key: Uint8Array<ArrayBuffer>;
  try {
    key = decodeRecoveryKey(recoveryKey.trim());
  } catch {
    throw new Error('That is not a valid recovery key.');
  }
  const keyId = await client.secretStorage.getDefaultKeyId();
  const info = keyId ? await client.secretStorage.getKey(keyId) : null;
  if (!info || !(await client.secretStorage.checkKey(key, info[1]))) throw new Error('That recovery key does not match this account’s key backup.');
  holdSecretStorageKey(key);
  try {
    // Imports the cross-signing keys from secret storage and signs this device with them.
    await crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys: uploadAuth(client, askPassword) });
    await crypto.loadSessionBackupPrivateKeyFromSecretStorage();
    await crypto.checkKeyBackupAndEnable();
    const result = await crypto.restoreKeyBackup();
    return { imported: result.imported };
  } finally {
    forgetSecretStorageKey();
  }
}
