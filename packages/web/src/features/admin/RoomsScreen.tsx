/** Rooms overview: ids, settings and membership counts (never messages), with block and unblock. */
import { useState } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import { adminRequest, errorText, query, when, type AdminRoom } from './admin-api.ts';
import { useLoad } from './use-admin.ts';
import { Pager, usePages } from './Pager.tsx';
import { AdminTable } from './AdminTable.tsx';

interface RoomSummary {
  room_id: string;
  name: string | null;
  encrypted: boolean;
  join_rule: string | null;
  history_visibility: string | null;
  members: { joined: number; invited: number; left: number; banned: number };
}

export function RoomsScreen({ client }: { client: MatrixClient }) {
  const pages = usePages();
  const rooms = useLoad(() => adminRequest<{ rooms: AdminRoom[]; next_from?: string }>(client, 'GET', `/rooms${query({ from: pages.from, limit: 50 })}`), [client, pages.from]);
  const [summary, setSummary] = useState<RoomSummary>();
  const [status, setStatus] = useState<string>();

  const show = async (roomId: string) => {
    try {
      setSummary(await adminRequest<RoomSummary>(client, 'GET', `/rooms/${encodeURIComponent(roomId)}`));
    } catch (error) {
      setStatus(errorText(error));
    }
  };
  const setBlocked = async (room: AdminRoom) => {
    try {
      await adminRequest(client, 'PUT', `/rooms/${encodeURIComponent(room.room_id)}/block`, { blocked: !room.blocked });
      setStatus(room.blocked ? 'Room unblocked.' : 'Room blocked: it refuses new joins, invites and messages.');
    } catch (error) {
      setStatus(errorText(error));
    }
    rooms.reload();
  };

  return (
    <div className="stack">
      <p className="muted">Rooms are listed by id and settings only: message content is end-to-end encrypted and never shown here.</p>
      <p role="status" className="admin-status">
        {status}
      </p>
      {rooms.error && <p className="error">{rooms.error}</p>}
      <AdminTable caption="Rooms" columns={['Room', 'Creator', 'Created', 'Members', 'State']} actions>
        {rooms.data?.rooms.map((room) => (
          <tr key={room.room_id}>
            <th scope="row" className="mono">
              {room.room_id}
            </th>
            <td>{room.creator}</td>
            <td>{when(room.created_ts)}</td>
            <td>{room.joined_members}</td>
            <td>{room.blocked ? 'Blocked' : room.published ? 'Published' : 'Private'}</td>
            <td className="row-actions">
              <button type="button" onClick={() => void show(room.room_id)} aria-label={`Details of ${room.room_id}`}>
                Details
              </button>
              <button type="button" onClick={() => void setBlocked(room)}>
                {room.blocked ? 'Unblock' : 'Block'}
              </button>
            </td>
          </tr>
        ))}
      </AdminTable>
      <Pager label="Rooms" pages={pages} nextFrom={rooms.data?.next_from} />
      {summary && (
        <section className="panel" aria-labelledby="room-summary-title">
          <h2 id="room-summary-title" className="mono">
            {summary.room_id}
          </h2>
          <dl className="facts">
            <dt>Name</dt>
            <dd>{summary.name ?? '—'}</dd>
            <dt>End-to-end encrypted</dt>
            <dd>{summary.encrypted ? 'Yes' : 'No'}</dd>
            <dt>Who may join</dt>
            <dd>{summary.join_rule ?? '—'}</dd>
            <dt>History visible to</dt>
            <dd>{summary.history_visibility ?? '—'}</dd>
            <dt>Members</dt>
            <dd>
              {summary.members.joined} joined, {summary.members.invited} invited, {summary.members.left} left, {summary.members.banned} banned
            </dd>
          </dl>
        </section>
      )}
    </div>
  );
}
