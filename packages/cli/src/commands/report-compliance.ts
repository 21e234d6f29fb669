/** caduceus report compliance: the HIPAA technical safeguards report of the running server (admin API). */
import { expectPositionals, parseCommandArgs, type Command } from '../args.ts';
import { API_OPTIONS, API_OPTIONS_HELP, connectAdminApi, output } from '../admin-client.ts';

export const reportCompliance: Command = {
  name: ['report', 'compliance'],
  summary: 'HIPAA technical safeguards: what is on, what is off, who lacks MFA (admin API)',
  usage: 'report compliance [--json]',
  help: `Maps the live configuration to the HIPAA technical safeguards (45 CFR 164.312): for each, on, off
or partial with the evidence, then the users without a second factor and the audit chain's state.
Administrators and security officers may run it.

${API_OPTIONS_HELP}`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, API_OPTIONS);
    expectPositionals(positionals, []);
    const api = await connectAdminApi(io, values);
    const report = await api.call('GET', '/report/compliance');
    output(io, values.json, report, () => {
      const width = Math.max(...report.safeguards.map((s: any) => `${s.id} ${s.name}`.length));
      const rows = report.safeguards.map(
        (s: any) =>
          `${`${s.id} ${s.name}`.padEnd(width)}  ${s.status.toUpperCase().padEnd(7)}  ${Object.entries(s.evidence)
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join(' ')}\n    ${s.note}\n`,
      );
      const lacking = report.users.without_mfa;
      return `Compliance report for ${report.server_name}, ${new Date(report.generated_ts).toISOString()}

${rows.join('')}
Administrators: ${report.users.admins}; security officers: ${report.users.security_officers}; active users: ${report.users.active}
Audit chain: ${report.audit_chain.ok ? 'intact' : `BROKEN (${report.audit_chain.problems.length} problem(s))`}, ${report.audit_chain.entries} entries
Users without a second factor: ${lacking === null ? 'second factors are not available' : lacking.length === 0 ? 'none' : `${lacking.length}\n${lacking.map((u: string) => `  ${u}\n`).join('')}`}
`;
    });
  },
};
