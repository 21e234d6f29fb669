/** A user's devices (sessions) and remote wipe: the session ends and the device is told to erase its local data. */
import { useState } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import { adminRequest, errorText, when, type AdminDevice } from './admin-api.ts';
import { useLoad } from './use-admin.ts';
import { ConfirmButton } from './ConfirmButton.tsx';
import { AdminTable } from './AdminTable.tsx';

export function DevicesPanel({ client, userId }: { client: MatrixClient; userId: string }) {
  const base = `/users/${encodeURIComponent(userId)}/devices`;
  const devices = useLoad(() => adminRequest<{ devices: AdminDevice[] }>(client, 'GET', base), [client, base]);
  const [status, setStatus] = useState<string>();
  const wipe = async (path: string, done: string) => {
    try {
      await adminRequest(client, 'POST', path);
      setStatus(done);
    } catch (error) {
      setStatus(errorText(error));
    }
    devices.reload();
  };
  return (
    <section aria-labelledby="devices-title" className="stack">
      <h3 id="devices-title">Devices</h3>
      <p role="status" className="admin-status">
        {status}
      </p>
      {devices.error && <p className="error">{devices.error}</p>}
      <AdminTable caption={`Devices of ${userId}`} columns={['Device', 'Last seen', 'Address']} actions>
        {devices.data?.devices.map((device) => (
          <tr key={device.device_id}>
            <th scope="row">
              {device.display_name ?? 'Unnamed device'} <div className="muted small">{device.device_id}</div>
            </th>
            <td>{when(device.last_seen_ts)}</td>
            <td>{device.last_seen_ip ?? '—'}</td>
            <td>
              <ConfirmButton
                label={`Wipe ${device.device_id}`}
                confirmLabel={`Confirm: wipe ${device.device_id}`}
                onConfirm={() => wipe(`${base}/${encodeURIComponent(device.device_id)}/wipe`, `Device ${device.device_id} wiped.`)}
              />
            </td>
          </tr>
        ))}
      </AdminTable>
      {devices.data && devices.data.devices.length === 0 && <p className="muted">No devices.</p>}
      {devices.data && devices.data.devices.length > 1 && (
        <div>
          <ConfirmButton label="Wipe every device" confirmLabel={`Confirm: wipe every device of ${userId}`} onConfirm={() => wipe(`${base}/wipe`, 'Every device wiped.')} />
        </div>
      )}
    </section>
  );
}
