/** Server notices: one message to every active user, in their server notices room. */
import { useState, type FormEvent } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import { adminRequest, errorText } from './admin-api.ts';

const MAX_CHARS = 4000;

export function NoticesScreen({ client }: { client: MatrixClient }) {
  const [body, setBody] = useState('');
  const [status, setStatus] = useState<string>();
  const [busy, setBusy] = useState(false);
  const send = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      const { recipients } = await adminRequest<{ recipients: number }>(client, 'POST', '/notices', { body: body.trim() });
      setStatus(`Notice sent to ${recipients} user${recipients === 1 ? '' : 's'}.`);
      setBody('');
    } catch (error) {
      setStatus(errorText(error));
    }
    setBusy(false);
  };
  return (
    <form className="panel stack" onSubmit={(e) => void send(e)}>
      <label>
        Notice to every user
        <textarea value={body} onChange={(e) => setBody(e.target.value)} rows={5} maxLength={MAX_CHARS} required aria-describedby="notice-help" />
      </label>
      <p id="notice-help" className="muted small">
        Server notices are not end-to-end encrypted: keep patient information out of them. {body.length}/{MAX_CHARS}
      </p>
      <div className="actions start">
        <button type="submit" className="primary" disabled={busy || !body.trim()}>
          Send to all users
        </button>
      </div>
      <p role="status" className="admin-status">
        {status}
      </p>
    </form>
  );
}
