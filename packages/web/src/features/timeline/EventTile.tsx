/** One message: sender, time, reply quote, body or attachment, edited/recalled marks, status and readers. */
import { useEffect, useState } from 'react';
import { EventStatus, MsgType, type MatrixClient, type MatrixEvent, type Room } from 'matrix-js-sdk';
import { downloadDecrypted, type EncryptedFile } from '../composer/attachments.ts';
import { Shield, type ShieldState } from './Shield.tsx';

interface Props {
  client: MatrixClient;
  room: Room;
  event: MatrixEvent;
  /** Set on the newest of my messages that others have read up to (where the "Read by" line goes). */
  readBy: string[] | undefined;
  onReply(): void;
  onEdit(): void;
}

export function shieldOf(event: MatrixEvent, roomEncrypted: boolean): ShieldState {
  if (event.isDecryptionFailure()) return 'undecryptable';
  if (event.isEncrypted()) return 'encrypted';
  return roomEncrypted ? 'plaintext' : 'plaintext';
}

function statusText(event: MatrixEvent, readBy: string[] | undefined): string | undefined {
  switch (event.status) {
    case EventStatus.ENCRYPTING:
    case EventStatus.QUEUED:
    case EventStatus.SENDING:
      return 'Sending…';
    case EventStatus.NOT_SENT:
      return 'Not sent';
    case EventStatus.CANCELLED:
      return 'Cancelled';
  }
  if (readBy && readBy.length > 0) return `Read by ${readBy.join(', ')}`;
  return 'Sent';
}

function Attachment({ client, event }: { client: MatrixClient; event: MatrixEvent }) {
  const content = event.getContent();
  const file = content.file as EncryptedFile | undefined;
  const mimetype = String((content.info as { mimetype?: string } | undefined)?.mimetype ?? 'application/octet-stream');
  const [url, setUrl] = useState<string>();
  const [failed, setFailed] = useState(false);
  const isImage = content.msgtype === MsgType.Image;
  useEffect(() => {
    if (!file || !isImage) return;
    let revoked = false;
    let made: string | undefined;
    downloadDecrypted(client, file, mimetype).then(
      (u) => (revoked ? URL.revokeObjectURL(u) : setUrl((made = u))),
      () => setFailed(true),
    );
    return () => {
      revoked = true;
      if (made) URL.revokeObjectURL(made);
    };
  }, [client, file, mimetype, isImage]);
  if (!file) return <p className="muted">Unencrypted attachments are not shown.</p>;
  const name = String(content.body ?? 'attachment');
  if (isImage) {
    if (failed) return <p className="error">The image could not be loaded.</p>;
    return url ? <img className="inline-image" src={url} alt={name} /> : <p className="muted">Decrypting image…</p>;
  }
  const download = () => {
    downloadDecrypted(client, file, mimetype).then((u) => {
      const link = document.createElement('a');
      link.href = u;
      link.download = name;
      link.click();
      setTimeout(() => URL.revokeObjectURL(u), 10_000);
    }, () => setFailed(true));
  };
  return (
    <button type="button" className="file" onClick={download}>
      ⬇ {name}
      {failed && <span className="error"> (download failed)</span>}
    </button>
  );
}

function ReplyQuote({ room, eventId }: { room: Room; eventId: string }) {
  const original = room.findEventById(eventId);
  return (
    <blockquote className="reply-quote">
      {original ? (
        <>
          <strong>{original.sender?.name ?? original.getSender()}</strong> {original.isRedacted() ? 'Message recalled' : String(original.getContent().body ?? '')}
        </>
      ) : (
        'In reply to an earlier message'
      )}
    </blockquote>
  );
}

export function EventTile({ client, room, event, readBy, onReply, onEdit }: Props) {
  const mine = event.getSender() === client.getUserId();
  const content = event.getContent();
  const replyTo = (event.getWireContent()['m.relates_to'] ?? content['m.relates_to']) as { 'm.in_reply_to'?: { event_id?: string } } | undefined;
  const replyId = replyTo?.['m.in_reply_to']?.event_id;
  const time = new Date(event.getTs()).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const recalled = event.isRedacted();
  const sent = !event.status;
  const body = String(content.body ?? '');
  const attachment = content.msgtype === MsgType.Image || content.msgtype === MsgType.File;

  return (
    <article className={`message${mine ? ' mine' : ''}`} aria-label={`${mine ? 'You' : (event.sender?.name ?? event.getSender())} at ${time}`} data-event-id={event.getId()}>
      <header className="message-head">
        <span className="sender">{mine ? 'You' : (event.sender?.name ?? event.getSender())}</span>
        <time dateTime={new Date(event.getTs()).toISOString()}>{time}</time>
        <Shield state={shieldOf(event, room.hasEncryptionStateEvent())} compact />
      </header>
      {replyId && !recalled && <ReplyQuote room={room} eventId={replyId} />}
      {recalled ? (
        <p className="recalled">Message recalled</p>
      ) : event.isDecryptionFailure() ? (
        <p className="muted">Unable to decrypt this message on this device.</p>
      ) : attachment ? (
        <Attachment client={client} event={event} />
      ) : (
        <p className="body">
          {body}
          {event.replacingEventId() && <span className="muted small"> (edited)</span>}
        </p>
      )}
      {mine && (
        <p className="status small" data-testid="message-status">
          {statusText(event, readBy)}
        </p>
      )}
      {!recalled && sent && !event.isDecryptionFailure() && (
        <div className="message-actions">
          <button type="button" className="link" onClick={onReply} aria-label="Reply to this message">
            Reply
          </button>
          {mine && !attachment && (
            <button type="button" className="link" onClick={onEdit} aria-label="Edit this message">
              Edit
            </button>
          )}
          {mine && (
            <button
              type="button"
              className="link"
              aria-label="Recall this message"
              onClick={() => {
                if (window.confirm('Recall this message for everyone?')) void client.redactEvent(room.roomId, event.getId()!);
              }}
            >
              Recall
            </button>
          )}
        </div>
      )}
    </article>
  );
}
