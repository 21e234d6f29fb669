/** Start a direct chat or a group room by searching the user directory (people and departments). */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import { createDirectChat, createGroupRoom } from './room-data.ts';

interface Person {
  userId: string;
  name: string;
}

export function useDirectorySearch(client: MatrixClient, term: string): Person[] {
  const [results, setResults] = useState<Person[]>([]);
  useEffect(() => {
    if (term.trim().length < 1) {
      setResults([]);
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      client
        .searchUserDirectory({ term: term.trim(), limit: 10 })
        .then(({ results: found }) => {
          if (current) setResults(found.filter((u) => u.user_id !== client.getUserId()).map((u) => ({ userId: u.user_id, name: u.display_name ?? u.user_id })));
        })
        .catch(() => current && setResults([]));
    }, 200);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [client, term]);
  return results;
}

interface Props {
  client: MatrixClient;
  onClose(): void;
  onCreated(roomId: string): void;
}

export function NewChatDialog({ client, onClose, onCreated }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [term, setTerm] = useState('');
  const [group, setGroup] = useState(false);
  const [roomName, setRoomName] = useState('');
  const [picked, setPicked] = useState<Person[]>([]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const results = useDirectorySearch(client, term);

  useEffect(() => {
    dialog.current?.showModal();
  }, []);

  const run = (work: Promise<string>) => {
    setBusy(true);
    setError(undefined);
    work.then(onCreated).catch(() => {
      setError('Could not create the conversation.');
      setBusy(false);
    });
  };

  const choose = (person: Person) => {
    if (!group) return run(createDirectChat(client, person.userId));
    if (!picked.some((p) => p.userId === person.userId)) setPicked([...picked, person]);
    setTerm('');
  };

  const createGroup = (event: FormEvent) => {
    event.preventDefault();
    run(createGroupRoom(client, roomName.trim(), picked.map((p) => p.userId)));
  };

  return (
    <dialog ref={dialog} className="dialog" aria-labelledby="new-chat-title" onClose={onClose}>
      <h2 id="new-chat-title">{group ? 'New group room' : 'New direct chat'}</h2>
      <div className="tabs" role="group" aria-label="Conversation type">
        <button type="button" aria-pressed={!group} onClick={() => setGroup(false)}>
          Direct chat
        </button>
        <button type="button" aria-pressed={group} onClick={() => setGroup(true)}>
          Group room
        </button>
      </div>
      {group && (
        <label>
          Room name
          <input value={roomName} onChange={(e) => setRoomName(e.target.value)} required maxLength={100} />
        </label>
      )}
      <label>
        Search people and departments
        <input type="search" value={term} onChange={(e) => setTerm(e.target.value)} autoFocus aria-controls="directory-results" />
      </label>
      <ul id="directory-results" className="results" aria-live="polite">
        {results.map((person) => (
          <li key={person.userId}>
            <button type="button" disabled={busy} onClick={() => choose(person)}>
              <strong>{person.name}</strong> <span className="muted">{person.userId}</span>
            </button>
          </li>
        ))}
      </ul>
      {group && picked.length > 0 && (
        <p>
          Inviting: {picked.map((p) => p.name).join(', ')}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="actions">
        {group && (
          <button type="button" className="primary" disabled={busy || !roomName.trim()} onClick={createGroup}>
            Create encrypted room
          </button>
        )}
        <button type="button" onClick={() => dialog.current?.close()}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}

/** Invite someone found in the directory to an existing room. */
export function InviteDialog({ client, roomId, onClose }: { client: MatrixClient; roomId: string; onClose(): void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [term, setTerm] = useState('');
  const [status, setStatus] = useState<string>();
  const results = useDirectorySearch(client, term);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const invite = (person: Person) => {
    client.invite(roomId, person.userId).then(
      () => setStatus(`Invited ${person.name}.`),
      () => setStatus(`Could not invite ${person.name}.`),
    );
  };
  return (
    <dialog ref={dialog} className="dialog" aria-labelledby="invite-title" onClose={onClose}>
      <h2 id="invite-title">Invite to this room</h2>
      <label>
        Search people and departments
        <input type="search" value={term} onChange={(e) => setTerm(e.target.value)} autoFocus />
      </label>
      <ul className="results">
        {results.map((person) => (
          <li key={person.userId}>
            <button type="button" onClick={() => invite(person)}>
              <strong>{person.name}</strong> <span className="muted">{person.userId}</span>
            </button>
          </li>
        ))}
      </ul>
      {status && <p role="status">{status}</p>}
      <div className="actions">
        <button type="button" onClick={() => dialog.current?.close()}>
          Done
        </button>
      </div>
    </dialog>
  );
}
