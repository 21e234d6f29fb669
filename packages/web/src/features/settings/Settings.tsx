/** Settings: this account's sessions (list, sign out others), and opting in to "New secure message" notifications. */
import { useEffect, useState } from 'react';
import type { IMyDevice, MatrixClient, MatrixError } from 'matrix-js-sdk';
import { EncryptionSettings } from '../verification/EncryptionSettings.tsx';

export function Settings({ client, onBack }: { client: MatrixClient; onBack(): void }) {
  const [devices, setDevices] = useState<IMyDevice[]>([]);
  const [status, setStatus] = useState<string>();
  const [permission, setPermission] = useState(typeof Notification === 'undefined' ? 'unsupported' : Notification.permission);

  const refresh = () => client.getDevices().then(({ devices: list }) => setDevices(list), () => setStatus('Could not list sessions.'));
  useEffect(() => void refresh(), [client]);

  const signOutDevice = async (deviceId: string) => {
    const identifier = { type: 'm.id.user', user: client.getUserId()! };
    try {
      try {
        await client.deleteDevice(deviceId);
      } catch (error) {
        // The server asks to confirm with the password (user-interactive auth) and names the UIA session.
        const session = (error as MatrixError).data?.session as string | undefined;
        const password = window.prompt('Confirm with your password to sign out that session');
        if (!password) return;
        await client.deleteDevice(deviceId, { type: 'm.login.password', identifier, password, ...(session ? { session } : {}) });
      }
      setStatus('Session signed out.');
    } catch {
      setStatus('Could not sign out that session.');
    }
    void refresh();
  };

  return (
    <section className="settings pad" aria-labelledby="settings-title">
      <header className="bar">
        <button type="button" className="back" onClick={onBack} aria-label="Back to conversations">
          ←
        </button>
        <h1 id="settings-title">Settings</h1>
      </header>
      <h2>Notifications</h2>
      <p className="muted">Notifications only ever say “New secure message”: never who wrote or what.</p>
      {permission === 'default' && (
        <button type="button" onClick={() => void Notification.requestPermission().then(setPermission)}>
          Enable notifications
        </button>
      )}
      {permission !== 'default' && <p>Notifications: {permission}</p>}
      <h2>Encryption</h2>
      <EncryptionSettings client={client} />
      <h2>Your sessions</h2>
      {status && <p role="status">{status}</p>}
      <ul className="sessions">
        {devices.map((device) => (
          <li key={device.device_id}>
            <strong>{device.display_name ?? 'Unnamed session'}</strong> <span className="muted">{device.device_id}</span>
            {device.last_seen_ts && <span className="muted small"> · last active {new Date(device.last_seen_ts).toLocaleString()}</span>}
            {device.device_id === client.getDeviceId() ? (
              <span className="badge">This session</span>
            ) : (
              <button type="button" className="link" onClick={() => void signOutDevice(device.device_id)}>
                Sign out
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
