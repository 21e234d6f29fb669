/**
 * Settings → Encryption: is this session verified (verify it with another session by emoji), key
 * backup with a recovery key (set up, shown once), and recovery on a new session with that key.
 */
import { useEffect, useState, type FormEvent } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import { CryptoEvent } from 'matrix-js-sdk/lib/crypto-api/index.js';
import { encryptionStatus, recoverWithKey, setUpKeyBackup, type EncryptionStatus } from './encryption.ts';
import { showVerification } from './VerificationDialog.tsx';

const askPassword = async () => window.prompt('Confirm with your password to change your encryption keys');

export function EncryptionSettings({ client }: { client: MatrixClient }) {
  const [status, setStatus] = useState<EncryptionStatus>();
  const [message, setMessage] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [recoveryKey, setRecoveryKey] = useState<string>();
  const [round, setRound] = useState(0);

  useEffect(() => {
    let live = true;
    void encryptionStatus(client).then((s) => live && setStatus(s), () => live && setMessage('Encryption status is not available.'));
    const refresh = () => setRound((r) => r + 1);
    client.on(CryptoEvent.KeyBackupStatus, refresh);
    client.on(CryptoEvent.UserTrustStatusChanged, refresh);
    client.on(CryptoEvent.DevicesUpdated, refresh);
    return () => {
      live = false;
      client.off(CryptoEvent.KeyBackupStatus, refresh);
      client.off(CryptoEvent.UserTrustStatusChanged, refresh);
      client.off(CryptoEvent.DevicesUpdated, refresh);
    };
  }, [client, round]);

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setMessage(undefined);
    try {
      await work();
    } catch (error) {
      setMessage(error instanceof Error && error.message !== 'Cancelled' ? error.message : 'Nothing was changed.');
    }
    setBusy(false);
    setRound((r) => r + 1);
  };

  const verifyWithOtherSession = () =>
    run(async () => {
      const crypto = client.getCrypto();
      if (!crypto) throw new Error('Encryption is not available.');
      showVerification(await crypto.requestOwnUserVerification());
    });

  const recover = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const key = String(new FormData(event.currentTarget).get('recovery-key') ?? '');
    void run(async () => {
      const { imported } = await recoverWithKey(client, key, askPassword);
      setMessage(`Recovered: this session is verified and ${imported} message key${imported === 1 ? '' : 's'} restored.`);
    });
  };

  if (!status) return <p className="muted">{message ?? 'Checking encryption…'}</p>;
  return (
    <div className="stack">
      <p data-testid="session-verification">{status.thisDeviceVerified ? 'This session is verified.' : 'This session is not verified yet.'}</p>
      {!status.thisDeviceVerified && (
        <div>
          <button type="button" disabled={busy} onClick={() => void verifyWithOtherSession()}>
            Verify with another session
          </button>
        </div>
      )}
      <h3>Key backup</h3>
      <p data-testid="backup-status">
        {status.backupVersion ? 'Message keys are backed up (encrypted) on the server.' : status.backupOnServer ? 'A key backup exists but this session cannot use it yet.' : 'Message keys are not backed up.'}
      </p>
      {recoveryKey ? (
        <div className="panel stack" role="region" aria-labelledby="recovery-key-title">
          <h4 id="recovery-key-title">Your recovery key</h4>
          <p>Store it somewhere safe (a password manager or printed). It unlocks your messages on a new device. It is shown only now.</p>
          <code className="recovery-key" data-testid="recovery-key">
            {recoveryKey}
          </code>
          <div>
            <button type="button" className="primary" onClick={() => setRecoveryKey(undefined)}>
              I have saved it
            </button>
          </div>
        </div>
      ) : (
        <div>
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              void run(async () => {
                if (status.backupOnServer && !window.confirm('This replaces your current key backup and recovery key. Continue?')) return;
                setRecoveryKey(await setUpKeyBackup(client, askPassword));
              })
            }
          >
            {status.backupOnServer ? 'Reset key backup and recovery key' : 'Set up key backup'}
          </button>
        </div>
      )}
      {status.backupOnServer && !status.backupVersion && (
        <form className="stack" onSubmit={recover}>
          <label>
            Recovery key
            <input name="recovery-key" autoComplete="off" spellCheck={false} autoCapitalize="none" required />
          </label>
          <div>
            <button type="submit" disabled={busy}>
              Recover with recovery key
            </button>
          </div>
        </form>
      )}
      {message && <p role="status">{message}</p>}
    </div>
  );
}
