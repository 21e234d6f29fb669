/**
 * The message composer: Enter sends, Shift+Enter starts a new line, typing notifications while typing,
 * reply and edit modes, and encrypted attachments (images are sent as m.image, everything else m.file).
 */
import { useEffect, useRef, useState, type ChangeEvent, type FormEvent, type KeyboardEvent } from 'react';
import { MsgType, RelationType, type MatrixClient, type MatrixEvent, type Room } from 'matrix-js-sdk';
import type { RoomMessageEventContent } from 'matrix-js-sdk/lib/@types/events.js';
import { imageSize, uploadEncrypted } from './attachments.ts';

export type ComposerMode = { kind: 'new' } | { kind: 'reply'; event: MatrixEvent } | { kind: 'edit'; event: MatrixEvent };

interface Props {
  client: MatrixClient;
  room: Room;
  mode: ComposerMode;
  onModeDone(): void;
}

export function Composer({ client, room, mode, onModeDone }: Props) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string>();
  const [uploading, setUploading] = useState(false);
  const input = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const typing = useRef(false);

  useEffect(() => {
    if (mode.kind === 'edit') setText(String(mode.event.getContent().body ?? ''));
    if (mode.kind !== 'new') input.current?.focus();
  }, [mode]);

  const setTyping = (on: boolean) => {
    if (typing.current === on) return;
    typing.current = on;
    client.sendTyping(room.roomId, on, 20_000).catch(() => undefined);
  };

  const send = (event?: FormEvent) => {
    event?.preventDefault();
    const body = text.trim();
    if (!body) return;
    let content: RoomMessageEventContent = { msgtype: MsgType.Text, body };
    if (mode.kind === 'reply') content = { ...content, 'm.relates_to': { 'm.in_reply_to': { event_id: mode.event.getId()! } } };
    if (mode.kind === 'edit') {
      content = {
        msgtype: MsgType.Text,
        body: `* ${body}`,
        'm.new_content': { msgtype: MsgType.Text, body },
        'm.relates_to': { rel_type: RelationType.Replace, event_id: mode.event.getId()! },
      };
    }
    setText('');
    setTyping(false);
    onModeDone();
    client.sendMessage(room.roomId, content).catch(() => setError('The message could not be sent.'));
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) send();
    if (event.key === 'Enter' && !event.shiftKey) event.preventDefault();
    if (event.key === 'Escape' && mode.kind !== 'new') {
      onModeDone();
      setText('');
    }
  };

  const onChange = (event: ChangeEvent<HTMLTextAreaElement>) => {
    setText(event.target.value);
    setTyping(event.target.value.length > 0);
  };

  const attach = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (!file) return;
    setUploading(true);
    setError(undefined);
    try {
      const encrypted = await uploadEncrypted(client, file);
      const isImage = /^image\/(png|jpeg|gif|webp)$/.test(file.type);
      const size = isImage ? await imageSize(file) : undefined;
      await client.sendMessage(room.roomId, {
        msgtype: isImage ? MsgType.Image : MsgType.File,
        body: file.name,
        file: encrypted,
        info: { mimetype: file.type || 'application/octet-stream', size: file.size, ...(size ?? {}) },
      } as RoomMessageEventContent);
    } catch {
      setError('The attachment could not be sent.');
    } finally {
      setUploading(false);
    }
  };

  return (
    <form className="composer" onSubmit={send} aria-label="Write a message">
      {mode.kind !== 'new' && (
        <div className="composer-mode" role="status">
          {mode.kind === 'reply' ? `Replying to ${mode.event.sender?.name ?? mode.event.getSender()}` : 'Editing your message'}
          <button type="button" className="link" onClick={() => { onModeDone(); setText(''); }}>
            Cancel
          </button>
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="composer-row">
        <input ref={fileInput} type="file" hidden onChange={(e) => void attach(e)} data-testid="attach-input" />
        <button type="button" onClick={() => fileInput.current?.click()} disabled={uploading} aria-label="Attach a file">
          {uploading ? (
            '…'
          ) : (
            <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" className="icon">
              <path d="M21 11.5 12.6 20a5.5 5.5 0 0 1-7.8-7.8l8.5-8.5a3.7 3.7 0 0 1 5.2 5.2l-8.5 8.5a1.8 1.8 0 0 1-2.6-2.6l7.8-7.8" />
            </svg>
          )}
        </button>
        <label className="sr-only" htmlFor="composer-input">
          Message
        </label>
        <textarea
          id="composer-input"
          ref={input}
          rows={1}
          value={text}
          placeholder="Encrypted message…"
          onChange={onChange}
          onKeyDown={onKeyDown}
          onBlur={() => setTyping(false)}
        />
        <button type="submit" className="primary" disabled={!text.trim()}>
          {mode.kind === 'edit' ? 'Save' : 'Send'}
        </button>
      </div>
    </form>
  );
}
