/** Admin API: search, export and verify the audit trail (administrators and security officers). */
import { Type } from 'typebox';
import { EXPORT_FORMATS } from '../../compliance/audit/index.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { parseTime } from '../../services/admin/audit.ts';
import { adminCaller } from './gate.ts';
import { Limit } from './fields.ts';

const tags = ['audit'];
const area = 'audit' as const;

const Time = Type.String({ minLength: 1, maxLength: 40, description: 'ISO 8601 time or milliseconds since the epoch' });
const Filter = {
  from_time: Type.Optional(Time),
  to_time: Type.Optional(Time),
  user_id: Type.Optional(Type.String({ minLength: 3, maxLength: 255, pattern: '^@', description: 'Entries this user performed or that concern them' })),
  room_id: Type.Optional(Type.String({ minLength: 3, maxLength: 255, pattern: '^!', description: 'Entries about this room' })),
  action: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^[a-z0-9_.]+$', description: 'An exact action, or a prefix ending in "." such as "admin."' })),
  outcome: Type.Optional(Type.Enum(['success', 'failure', 'refused'])),
};

type FilterQuery = { from_time?: string | undefined; to_time?: string | undefined; user_id?: string | undefined; room_id?: string | undefined; action?: string | undefined; outcome?: 'success' | 'failure' | 'refused' | undefined };

const filterOf = (q: FilterQuery) => ({
  fromTs: parseTime('from_time', q.from_time),
  toTs: parseTime('to_time', q.to_time),
  userId: q.user_id,
  roomId: q.room_id,
  action: q.action,
  outcome: q.outcome,
});

export function adminAuditRoutes(app: App, { admin }: Services) {
  /** GET /_caduceus/admin/v1/audit/entries */
  app.get(
    '/audit/entries',
    {
      config: { admin: { area, verb: 'search' } },
      schema: {
        tags,
        summary: 'Search entries by time, user (actor or target), room, action ("admin." matches every admin action) and outcome',
        querystring: Type.Object({
          ...Filter,
          from: Type.Optional(Type.Integer({ minimum: 0, description: 'next_from of the previous page' })),
          limit: Type.Optional(Limit),
        }),
      },
    },
    async (request) =>
      admin.audit.search(adminCaller(request), filterOf(request.query), { from: request.query.from, limit: request.query.limit ?? 100 }),
  );

  /** GET /_caduceus/admin/v1/audit/export */
  app.get(
    '/audit/export',
    {
      config: { admin: { area, verb: 'export' } },
      schema: {
        tags,
        summary: 'Export entries as JSON lines, CSV or a FHIR R4 Bundle of AuditEvents (streamed)',
        querystring: Type.Object({ format: Type.Enum([...EXPORT_FORMATS]), ...Filter }),
      },
    },
    async (request, reply) => {
      const { contentType, body } = await admin.audit.export(adminCaller(request), request.query.format, filterOf(request.query));
      return reply.type(contentType).header('Content-Disposition', `attachment; filename="audit.${request.query.format === 'fhir' ? 'json' : request.query.format}"`).send(body);
    },
  );

  /** GET /_caduceus/admin/v1/audit/verify */
  app.get('/audit/verify', { config: { admin: { area, verb: 'verify' } }, schema: { tags, summary: 'Check the hash chain and its signed checkpoints; names where it breaks' } }, async (request) =>
    admin.audit.verify(adminCaller(request)),
  );
}
