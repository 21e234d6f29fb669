import type { RoomSummary } from './room-data.ts';
import { Shield } from '../timeline/Shield.tsx';

interface Props {
  rooms: RoomSummary[];
  selected: string | undefined;
  onSelect(roomId: string): void;
}

function Section({ title, rooms, selected, onSelect }: Props & { title: string }) {
  if (rooms.length === 0) return null;
  const id = `rooms-${title.toLowerCase().replace(/\W+/g, '-')}`;
  return (
    <section aria-labelledby={id}>
      <h2 id={id} className="list-title">
        {title}
      </h2>
      <ul className="room-list">
        {rooms.map((room) => (
          <li key={room.roomId}>
            <button
              type="button"
              className={`room-item${room.roomId === selected ? ' selected' : ''}`}
              aria-current={room.roomId === selected ? 'page' : undefined}
              onClick={() => onSelect(room.roomId)}
              aria-label={`${room.name}${room.invited ? ', invitation' : ''}${room.unread ? `, ${room.unread} unread` : ''}`}
            >
              <span className="avatar" aria-hidden="true">
                {room.name.slice(0, 1).toUpperCase()}
              </span>
              <span className="room-name">{room.name}</span>
              {room.encrypted && <Shield state="encrypted" compact />}
              {room.invited && <span className="badge invite">Invite</span>}
              {room.unread > 0 && (
                <span className="badge" data-testid="unread-count">
                  {room.unread}
                </span>
              )}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function RoomList(props: Props) {
  const invites = props.rooms.filter((r) => r.invited);
  const direct = props.rooms.filter((r) => !r.invited && r.direct);
  const groups = props.rooms.filter((r) => !r.invited && !r.direct);
  return (
    <nav aria-label="Conversations" className="room-nav">
      <Section {...props} title="Invitations" rooms={invites} />
      <Section {...props} title="Direct chats" rooms={direct} />
      <Section {...props} title="Rooms" rooms={groups} />
      {props.rooms.length === 0 && <p className="muted pad">No conversations yet. Start one with “New chat”.</p>}
    </nav>
  );
}
