/** The compliance report: the HIPAA technical safeguards (45 CFR 164.312) as this server's live settings meet them. */
import type { MatrixClient } from 'matrix-js-sdk';
import { adminRequest, type ComplianceReport } from './admin-api.ts';
import { useLoad } from './use-admin.ts';
import { AdminTable } from './AdminTable.tsx';

const STATUS_TEXT = { on: 'In place', partial: 'Partly in place', off: 'Not in place' } as const;

export function ReportScreen({ client }: { client: MatrixClient }) {
  const report = useLoad(() => adminRequest<ComplianceReport>(client, 'GET', '/report/compliance'), [client]);
  if (report.error) return <p className="error">{report.error}</p>;
  if (!report.data) return <p role="status">Building the report…</p>;
  const r = report.data;
  return (
    <div className="stack">
      <p className="muted">
        {r.server_name} · generated {new Date(r.generated_ts).toLocaleString()} · {r.users.active} active users, {r.users.admins} administrators, {r.users.security_officers} security officers
        {r.users.without_mfa !== null && `, ${r.users.without_mfa.length} without a second factor`} · audit chain {r.audit_chain.ok ? 'intact' : 'broken'}
      </p>
      <AdminTable caption="Technical safeguards" columns={['Safeguard', 'Status', 'Evidence', 'Note']}>
        {r.safeguards.map((s) => (
          <tr key={s.id}>
            <th scope="row">
              {s.name}
              <div className="muted small">{s.id}</div>
            </th>
            <td>
              <span className={`pill pill-${s.status}`}>{STATUS_TEXT[s.status]}</span>
            </td>
            <td className="small">
              {Object.entries(s.evidence)
                .map(([k, v]) => `${k.replaceAll('_', ' ')}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
                .join('; ') || '—'}
            </td>
            <td className="small">{s.note}</td>
          </tr>
        ))}
      </AdminTable>
      <div>
        <button type="button" onClick={() => window.print()}>
          Print
        </button>
      </div>
    </div>
  );
}
