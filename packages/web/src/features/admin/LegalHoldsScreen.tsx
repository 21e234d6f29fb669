/**
 * Retention and legal holds: the organisation's retention settings (from the configuration), and the
 * holds that keep a user's or a room's data from being purged or erased until released. A hold's
 * reason is a case reference, never patient details.
 */
import { useState, type FormEvent } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import { adminRequest, errorText, seg, when, type LegalHold } from './admin-api.ts';
import { useLoad } from './use-admin.ts';
import { ConfirmButton } from './ConfirmButton.tsx';
import { AdminTable } from './AdminTable.tsx';

interface RetentionPolicy {
  default_max_lifetime: number | null;
  min_allowed: number | null;
  max_allowed: number | null;
  redaction_grace: number | null;
  purge_interval: number | null;
}

const DAY = 86_400_000;

function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return 'No limit';
  const [count, unit] = ms >= DAY ? [+(ms / DAY).toFixed(1), 'day'] : ms >= 3_600_000 ? [+(ms / 3_600_000).toFixed(1), 'hour'] : [Math.round(ms / 60_000), 'minute'];
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

export function LegalHoldsScreen({ client }: { client: MatrixClient }) {
  const policy = useLoad(() => adminRequest<RetentionPolicy>(client, 'GET', '/retention'), [client]);
  const holds = useLoad(() => adminRequest<{ holds: LegalHold[] }>(client, 'GET', '/legal-holds'), [client]);
  const [status, setStatus] = useState<string>();
  const [kind, setKind] = useState<'user' | 'room'>('user');

  const act = async (work: () => Promise<string>): Promise<boolean> => {
    let ok = true;
    try {
      setStatus(await work());
    } catch (error) {
      setStatus(errorText(error));
      ok = false;
    }
    holds.reload();
    return ok;
  };

  const place = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const target = String(form.get('target') ?? '').trim();
    const reason = String(form.get('reason') ?? '').trim();
    void act(async () => {
      await adminRequest(client, 'POST', '/legal-holds', { [kind === 'user' ? 'user_id' : 'room_id']: target, reason });
      return `Legal hold placed on ${target}.`;
    }).then((ok) => ok && formElement.reset());
  };

  return (
    <div className="stack">
      <p role="status" className="admin-status">
        {status}
      </p>
      <section className="panel" aria-labelledby="retention-title">
        <h2 id="retention-title">Retention</h2>
        {policy.error && <p className="error">{policy.error}</p>}
        {policy.data && (
          <dl className="facts">
            <dt>Messages are kept for</dt>
            <dd>{duration(policy.data.default_max_lifetime)}</dd>
            <dt>Rooms may ask for between</dt>
            <dd>
              {duration(policy.data.min_allowed)} and {duration(policy.data.max_allowed)}
            </dd>
            <dt>Recalled messages are erased after</dt>
            <dd>{duration(policy.data.redaction_grace)}</dd>
            <dt>Purge runs every</dt>
            <dd>{duration(policy.data.purge_interval)}</dd>
          </dl>
        )}
        <p className="muted small">Set in the server configuration. Nothing under a legal hold is purged or erased.</p>
      </section>
      <form className="panel stack" onSubmit={place} aria-labelledby="hold-title">
        <h2 id="hold-title">Place a legal hold</h2>
        <div className="grid-2">
          <label>
            Hold
            <select value={kind} onChange={(e) => setKind(e.target.value as 'user' | 'room')}>
              <option value="user">A user</option>
              <option value="room">A room</option>
            </select>
          </label>
          <label>
            {kind === 'user' ? 'User id' : 'Room id'}
            <input
              name="target"
              required
              maxLength={255}
              pattern={kind === 'user' ? '@.+' : '!.+'}
              autoCapitalize="none"
              spellCheck={false}
              placeholder={kind === 'user' ? '@name:example.org' : '!room:example.org'}
            />
          </label>
          <label>
            Reason (case or matter reference)
            <input name="reason" required maxLength={500} autoComplete="off" aria-describedby="hold-reason-help" />
          </label>
        </div>
        <p className="muted small" id="hold-reason-help">
          No patient details: the reason is kept with the hold and shown to administrators.
        </p>
        <div className="actions start">
          <button type="submit" className="primary">
            Place hold
          </button>
        </div>
      </form>
      {holds.error && <p className="error">{holds.error}</p>}
      <AdminTable caption="Legal holds in place" columns={['On', 'Reason', 'Placed']} actions emptyNote={holds.data?.holds.length === 0 && 'No legal holds in place.'}>
        {holds.data?.holds.map((hold) => {
          const target = hold.user_id ?? hold.room_id ?? '';
          return (
            <tr key={hold.hold_id}>
              <th scope="row" className="mono">
                {target}
                <div className="muted small">{hold.user_id ? 'user' : 'room'}</div>
              </th>
              <td>{hold.reason}</td>
              <td>
                {when(hold.created_ts)}
                <div className="muted small">{hold.created_by}</div>
              </td>
              <td>
                <ConfirmButton
                  label="Release"
                  accessibleLabel={`Release the hold on ${target}`}
                  confirmLabel={`Confirm: release the hold on ${target}`}
                  onConfirm={() => act(async () => (await adminRequest(client, 'DELETE', `/legal-holds/${seg(hold.hold_id)}`), `Hold on ${target} released.`))}
                />
              </td>
            </tr>
          );
        })}
      </AdminTable>
    </div>
  );
}
