/** Admin API: the compliance report (administrators and security officers). */
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { adminCaller } from './gate.ts';

export function adminReportRoutes(app: App, { admin }: Services) {
  /** GET /_caduceus/admin/v1/report/compliance */
  app.get(
    '/report/compliance',
    {
      config: { admin: { area: 'report', verb: 'compliance' } },
      schema: { tags: ['report'], summary: 'The live configuration mapped to the HIPAA technical safeguards (45 CFR 164.312): on, off or partial, with evidence' },
    },
    async (request) => admin.report.compliance(adminCaller(request)),
  );
}
