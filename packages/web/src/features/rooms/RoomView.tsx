/** One open conversation: header (name, encryption shield, invite, leave), timeline and composer, or an invitation to answer. */
import { useState } from 'react';
import { KnownMembership, type MatrixClient, type Room } from 'matrix-js-sdk';
import { useClientTick } from '../../matrix/hooks.ts';
import { Timeline } from '../timeline/Timeline.tsx';
import { Shield } from '../timeline/Shield.tsx';
import { Composer, type ComposerMode } from '../composer/Composer.tsx';
import { InviteDialog } from './NewChatDialog.tsx';
import { acceptInvite, directRoomIds } from './room-data.ts';
import { VerifyPerson } from '../verification/VerifyPerson.tsx';

interface Props {
  client: MatrixClient;
  room: Room;
  onBack(): void;
  onLeft(): void;
}

export function RoomView({ client, room, onBack, onLeft }: Props) {
  const tick = useClientTick(client);
  const [mode, setMode] = useState<ComposerMode>({ kind: 'new' });
  const [inviting, setInviting] = useState(false);
  const [error, setError] = useState<string>();
  const encrypted = room.hasEncryptionStateEvent();
  const invited = room.getMyMembership() === KnownMembership.Invite;
  // A direct chat with one other person: their identity can be verified from here.
  const others = room.getMembers().filter((m) => m.userId !== client.getUserId() && (m.membership === KnownMembership.Join || m.membership === KnownMembership.Invite));
  const partner = directRoomIds(client).has(room.roomId) && others.length === 1 ? others[0]!.userId : undefined;

  const leave = () => {
    if (!window.confirm('Leave this conversation?')) return;
    client.leave(room.roomId).then(onLeft, () => setError('Could not leave the conversation.'));
  };

  return (
    <section className="room-view" aria-labelledby="room-title">
      <header className="bar room-bar">
        <button type="button" className="back" onClick={onBack} aria-label="Back to conversations">
          ←
        </button>
        <h1 id="room-title" className="room-title">
          {room.name}
        </h1>
        <Shield state={encrypted ? 'encrypted' : 'plaintext'} />
        {partner && !invited && <VerifyPerson client={client} room={room} userId={partner} />}
        {!invited && (
          <>
            <button type="button" onClick={() => setInviting(true)}>
              Invite
            </button>
            <button type="button" onClick={leave}>
              Leave
            </button>
          </>
        )}
      </header>
      {error && (
        <p className="error pad" role="alert">
          {error}
        </p>
      )}
      {invited ? (
        <div className="invite-card pad">
          <p>You are invited to this conversation.</p>
          <button type="button" className="primary" onClick={() => acceptInvite(client, room).catch(() => setError('Could not join.'))}>
            Accept
          </button>
          <button type="button" onClick={() => client.leave(room.roomId).then(onLeft, () => setError('Could not decline.'))}>
            Decline
          </button>
        </div>
      ) : (
        <>
          <Timeline client={client} room={room} tick={tick} onReply={(event) => setMode({ kind: 'reply', event })} onEdit={(event) => setMode({ kind: 'edit', event })} />
          <Composer client={client} room={room} mode={mode} onModeDone={() => setMode({ kind: 'new' })} />
        </>
      )}
      {inviting && <InviteDialog client={client} roomId={room.roomId} onClose={() => setInviting(false)} />}
    </section>
  );
}
