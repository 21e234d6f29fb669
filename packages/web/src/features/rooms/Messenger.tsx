/**
 * The signed-in messenger: conversation list beside the open conversation (one at a time on a phone).
 * The page title shows only an unread count and notifications say "New secure message": no names or
 * content ever leave the page.
 */
import { useEffect, useState } from 'react';
import { RoomEvent, type MatrixClient, type MatrixEvent, type Room } from 'matrix-js-sdk';
import { useClientTick, useRoute } from '../../matrix/hooks.ts';
import { summarize, totalUnread } from './room-data.ts';
import { RoomList } from './RoomList.tsx';
import { NewChatDialog } from './NewChatDialog.tsx';
import { RoomView } from './RoomView.tsx';
import { Settings } from '../settings/Settings.tsx';
import { AdminConsole } from '../admin/AdminConsole.tsx';
import { whoami, type Whoami } from '../admin/admin-api.ts';
import { VerificationRequests } from '../verification/VerificationDialog.tsx';

function useSecureNotifications(client: MatrixClient, openRoomId: string | undefined) {
  useEffect(() => {
    const onTimeline = (event: MatrixEvent, room: Room | undefined, toStartOfTimeline: boolean | undefined, _removed: boolean, data: { liveEvent?: boolean }) => {
      if (toStartOfTimeline || !data.liveEvent || !room || event.getSender() === client.getUserId()) return;
      if (!['m.room.message', 'm.room.encrypted'].includes(event.getType())) return;
      if (!document.hidden && room.roomId === openRoomId) return;
      if (typeof Notification !== 'undefined' && Notification.permission === 'granted') {
        new Notification('New secure message', { tag: 'caduceus', silent: false });
      }
    };
    client.on(RoomEvent.Timeline, onTimeline);
    return () => void client.off(RoomEvent.Timeline, onTimeline);
  }, [client, openRoomId]);
}

export function Messenger({ client, onSignOut }: { client: MatrixClient; onSignOut(): void }) {
  useClientTick(client);
  const [route, navigate] = useRoute();
  const [composing, setComposing] = useState(false);
  const rooms = summarize(client);
  const openRoomId = route.view === 'room' ? route.roomId : undefined;
  const unread = totalUnread(rooms);
  useSecureNotifications(client, openRoomId);
  // The caller's roles decide whether the admin console is offered (null: not an admin, or no admin API).
  const [me, setMe] = useState<Whoami | null>();
  useEffect(() => void whoami(client).then((answer) => setMe(answer ?? null)), [client]);

  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Caduceus` : 'Caduceus';
  }, [unread]);

  const room = openRoomId ? client.getRoom(openRoomId) : null;
  const showingDetail = route.view !== 'home';
  if (route.view === 'admin') {
    return (
      <>
        {me === undefined && <p className="empty">Loading…</p>}
        {me !== undefined && (me && me.admin_areas.length > 0 ? <AdminConsole client={client} me={me} section={route.section} navigate={navigate} /> : <p className="empty">The admin console is for administrators and security officers.</p>)}
        <VerificationRequests client={client} />
      </>
    );
  }
  return (
    <div className={`messenger${showingDetail ? ' detail-open' : ''}`}>
      <a href="#main" className="skip-link">
        Skip to conversation
      </a>
      <aside className="sidebar" aria-label="Conversation list">
        <header className="bar">
          <span className="brand">
            <img src="/favicon.svg" alt="" width="24" height="24" /> Caduceus
          </span>
          <button type="button" onClick={() => navigate({ view: 'settings' })} aria-label="Settings and sessions">
            <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" className="icon">
              <circle cx="12" cy="12" r="3.2" />
              <path d="M12 2.5v3M12 18.5v3M2.5 12h3M18.5 12h3M5.3 5.3l2.1 2.1M16.6 16.6l2.1 2.1M5.3 18.7l2.1-2.1M16.6 7.4l2.1-2.1" />
            </svg>
          </button>
        </header>
        <div className="pad">
          <button type="button" className="primary wide" onClick={() => setComposing(true)}>
            New chat
          </button>
        </div>
        {me && me.admin_areas.length > 0 && (
          <div className="pad admin-link">
            <a
              href="/admin"
              onClick={(event) => {
                event.preventDefault();
                navigate({ view: 'admin', section: '' });
              }}
            >
              Admin console
            </a>
          </div>
        )}
        <RoomList rooms={rooms} selected={openRoomId} onSelect={(roomId) => navigate({ view: 'room', roomId })} />
        <footer className="pad">
          <span className="muted small">{client.getUserId()}</span>
          <button type="button" className="link" onClick={onSignOut}>
            Sign out
          </button>
        </footer>
      </aside>
      <main id="main" className="main" tabIndex={-1}>
        {route.view === 'room' && room && <RoomView key={room.roomId} client={client} room={room} onBack={() => navigate({ view: 'home' })} onLeft={() => navigate({ view: 'home' })} />}
        {route.view === 'room' && !room && <p className="empty">This conversation is not available.</p>}
        {route.view === 'settings' && <Settings client={client} onBack={() => navigate({ view: 'home' })} />}
        {route.view === 'home' && <p className="empty">Choose a conversation, or start a new one.</p>}
      </main>
      <VerificationRequests client={client} />
      {composing && (
        <NewChatDialog
          client={client}
          onClose={() => setComposing(false)}
          onCreated={(roomId) => {
            setComposing(false);
            navigate({ view: 'room', roomId });
          }}
        />
      )}
    </div>
  );
}
