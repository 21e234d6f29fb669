/**
 * Registration tokens: what a new person types to create an account when registration needs a token.
 * List with use counts, create (random or named, with an optional use limit and expiry), delete.
 */
import { useState, type FormEvent } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import { adminRequest, errorText, seg, when, type RegistrationToken } from './admin-api.ts';
import { useLoad } from './use-admin.ts';
import { ConfirmButton } from './ConfirmButton.tsx';
import { AdminTable } from './AdminTable.tsx';

function state(token: RegistrationToken, now: number): string {
  if (token.expiry_ts !== null && token.expiry_ts <= now) return 'Expired';
  if (token.uses_allowed !== null && token.completed >= token.uses_allowed) return 'Used up';
  return 'Valid';
}

export function RegistrationTokensScreen({ client }: { client: MatrixClient }) {
  const tokens = useLoad(() => adminRequest<{ registration_tokens: RegistrationToken[] }>(client, 'GET', '/registration_tokens'), [client]);
  const [status, setStatus] = useState<string>();

  const act = async (work: () => Promise<string>) => {
    try {
      setStatus(await work());
    } catch (error) {
      setStatus(errorText(error));
    }
    tokens.reload();
  };

  const create = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const token = String(form.get('token') ?? '').trim();
    const uses = String(form.get('uses_allowed') ?? '').trim();
    const expires = String(form.get('expiry') ?? '');
    void act(async () => {
      const created = await adminRequest<RegistrationToken>(client, 'POST', '/registration_tokens', {
        ...(token ? { token } : {}),
        uses_allowed: uses ? Number(uses) : null,
        // datetime-local is the browser's local time; the API takes milliseconds since the epoch.
        expiry_time: expires ? new Date(expires).getTime() : null,
      });
      formElement.reset();
      return `Created token ${created.token}.`;
    });
  };

  const now = Date.now();
  return (
    <div className="stack">
      <p className="muted">When registration needs a token, a new person enters one of these to create an account. Hand them out privately.</p>
      <p role="status" className="admin-status">
        {status}
      </p>
      <form className="panel stack" onSubmit={create} aria-labelledby="create-token-title">
        <h2 id="create-token-title">Create a token</h2>
        <div className="grid-2">
          <label>
            Token (blank: random)
            <input name="token" maxLength={64} pattern="[A-Za-z0-9._~\-]+" autoComplete="off" autoCapitalize="none" spellCheck={false} />
          </label>
          <label>
            Uses allowed (blank: unlimited)
            <input name="uses_allowed" type="number" min={1} step={1} inputMode="numeric" />
          </label>
          <label>
            Expires (blank: never)
            <input name="expiry" type="datetime-local" />
          </label>
        </div>
        <div className="actions start">
          <button type="submit" className="primary">
            Create token
          </button>
        </div>
      </form>
      {tokens.error && <p className="error">{tokens.error}</p>}
      <AdminTable caption="Registration tokens" columns={['Token', 'Used', 'Expires', 'State', 'Created']} actions emptyNote={tokens.data?.registration_tokens.length === 0 && 'No registration tokens.'}>
        {tokens.data?.registration_tokens.map((t) => (
          <tr key={t.token}>
            <th scope="row" className="mono">
              {t.token}
            </th>
            <td>
              {t.completed} of {t.uses_allowed ?? 'unlimited'}
            </td>
            <td>{t.expiry_ts === null ? 'Never' : when(t.expiry_ts)}</td>
            <td>{state(t, now)}</td>
            <td>
              {when(t.created_ts)}
              {t.created_by && <div className="muted small">{t.created_by}</div>}
            </td>
            <td>
              <ConfirmButton
                label="Delete"
                accessibleLabel={`Delete token ${t.token}`}
                confirmLabel={`Confirm: delete token ${t.token}`}
                onConfirm={() => act(async () => (await adminRequest(client, 'DELETE', `/registration_tokens/${seg(t.token)}`), `Deleted token ${t.token}.`))}
              />
            </td>
          </tr>
        ))}
      </AdminTable>
    </div>
  );
}
