/** The audit trail: search and filter, the hash chain's verification status, and export downloads. */
import { useState, type FormEvent } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import { adminRequest, downloadAuditExport, errorText, query, type AuditEntry, type ChainStatus } from './admin-api.ts';
import { useLoad } from './use-admin.ts';
import { AdminTable } from './AdminTable.tsx';

interface Filter {
  action?: string;
  user_id?: string;
  room_id?: string;
  from_time?: string;
  to_time?: string;
}

/** A datetime-local value as an ISO time the server accepts. */
const isoOf = (local: string) => (local ? new Date(local).toISOString() : undefined);

function summary(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'object') return String(value);
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

export function AuditScreen({ client }: { client: MatrixClient }) {
  const [filter, setFilter] = useState<Filter>({});
  const [status, setStatus] = useState<string>();
  const entries = useLoad(
    () => adminRequest<{ entries: AuditEntry[]; next_from?: number }>(client, 'GET', `/audit/entries${query({ ...filter, limit: 200 })}`),
    [client, JSON.stringify(filter)],
  );
  const [chain, setChain] = useState<ChainStatus>();
  const [checking, setChecking] = useState(false);

  const apply = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => String(form.get(name) ?? '').trim() || undefined;
    const next: Filter = {};
    for (const key of ['action', 'user_id', 'room_id'] as const) {
      const value = text(key);
      if (value) next[key] = value;
    }
    const fromTime = isoOf(text('from_time') ?? '');
    const toTime = isoOf(text('to_time') ?? '');
    if (fromTime) next.from_time = fromTime;
    if (toTime) next.to_time = toTime;
    setFilter(next);
  };
  const verify = async () => {
    setChecking(true);
    try {
      setChain(await adminRequest<ChainStatus>(client, 'GET', '/audit/verify'));
    } catch (error) {
      setStatus(errorText(error));
    }
    setChecking(false);
  };
  const download = async (format: string) => {
    try {
      const { action: _ignored, ...rest } = filter;
      const name = await downloadAuditExport(client, { format, ...rest });
      setStatus(`Export downloaded (${name}).`);
    } catch (error) {
      setStatus(errorText(error));
    }
  };

  return (
    <div className="stack">
      <section className="panel" aria-labelledby="chain-title">
        <h2 id="chain-title">Chain verification</h2>
        <div className="inline-form">
          <button type="button" onClick={() => void verify()} disabled={checking}>
            {checking ? 'Verifying…' : 'Verify the chain'}
          </button>
          <p role="status" data-testid="chain-status">
            {chain &&
              (chain.ok
                ? `Chain intact: ${chain.entries} entries, ${chain.checkpoints} signed checkpoints.`
                : `Chain broken: ${chain.problems.length} problem(s) in ${chain.entries} entries.`)}
          </p>
        </div>
      </section>
      <form className="panel filters" onSubmit={apply} aria-label="Filter audit entries">
        <label>
          Action
          <input name="action" placeholder="e.g. admin. or login.password" pattern="[a-z0-9_.]+" />
        </label>
        <label>
          User
          <input name="user_id" placeholder="@user:server" />
        </label>
        <label>
          Room
          <input name="room_id" placeholder="!room:server" />
        </label>
        <label>
          From
          <input name="from_time" type="datetime-local" />
        </label>
        <label>
          To
          <input name="to_time" type="datetime-local" />
        </label>
        <div className="actions start">
          <button type="submit" className="primary">
            Search
          </button>
        </div>
      </form>
      <div className="inline-form">
        <span>Export these entries:</span>
        {['jsonl', 'csv', 'fhir'].map((format) => (
          <button key={format} type="button" onClick={() => void download(format)}>
            {format === 'fhir' ? 'FHIR AuditEvents' : format.toUpperCase()}
          </button>
        ))}
      </div>
      <p role="status" className="admin-status">
        {status}
      </p>
      {entries.error && <p className="error">{entries.error}</p>}
      <AdminTable caption="Audit entries" columns={['#', 'Time', 'Action', 'Outcome', 'Actor', 'Target', 'Details']} className="audit">
        {entries.data?.entries.map((entry) => (
          <tr key={entry.seq}>
            <td>{entry.seq}</td>
            <td>{new Date(entry.time).toLocaleString()}</td>
            <th scope="row" className="mono">
              {entry.action}
            </th>
            <td>{entry.outcome}</td>
            <td>{entry.actor.user_id ?? entry.actor.address ?? '—'}</td>
            <td className="small">{summary(entry.target)}</td>
            <td className="small">{summary(entry.details)}</td>
          </tr>
        ))}
      </AdminTable>
      {entries.data && entries.data.entries.length === 0 && <p className="muted">No entries match.</p>}
      {entries.data?.next_from !== undefined && <p className="muted small">Showing the first 200 matches; narrow the filter to see others.</p>}
    </div>
  );
}
