/** Admin API: retention policy, purge on demand and legal holds. */
import { Type } from 'typebox';
import type { App } from '../../http/types.ts';
import { AdminRetentionService } from '../../services/admin/retention.ts';
import type { Services } from '../../services/index.ts';
import { adminCaller } from './gate.ts';
import { RoomIdParam, UserIdParam } from './fields.ts';

const tags = ['retention'];
const area = 'retention' as const;
const HoldIdParam = Type.Object({ holdId: Type.String({ minLength: 1, maxLength: 64, pattern: '^hold_[0-9a-f-]+$' }) });

export function adminRetentionRoutes(app: App, services: Services) {
  const retention = new AdminRetentionService(services.retention, services.audit);

  /** GET /_caduceus/admin/v1/retention */
  app.get('/retention', { config: { admin: { area, verb: 'policy' } }, schema: { tags, summary: 'The organisation retention settings (milliseconds; null = no limit)' } }, async (request) =>
    retention.policy(adminCaller(request)),
  );

  /** POST /_caduceus/admin/v1/retention/purge */
  app.post(
    '/retention/purge',
    { config: { admin: { area, verb: 'purge' } }, schema: { tags, summary: 'Run a purge pass now (it also runs on its own every retention_purge_interval)' } },
    async (request) => retention.purge(adminCaller(request)),
  );

  /** GET /_caduceus/admin/v1/legal-holds */
  app.get('/legal-holds', { config: { admin: { area, verb: 'holds' } }, schema: { tags, summary: 'Every legal hold in place' } }, async (request) =>
    retention.listHolds(adminCaller(request)),
  );

  /** POST /_caduceus/admin/v1/legal-holds */
  app.post(
    '/legal-holds',
    {
      config: { admin: { area, verb: 'hold' } },
      schema: {
        tags,
        summary: 'Place a legal hold on a user or a room: nothing of theirs is purged or erased until it is released',
        body: Type.Object(
          {
            user_id: Type.Optional(UserIdParam.properties.userId),
            room_id: Type.Optional(RoomIdParam.properties.roomId),
            reason: Type.String({ minLength: 1, maxLength: 500, description: 'The case or matter reference (no patient details)' }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => retention.placeHold(adminCaller(request), request.body),
  );

  /** DELETE /_caduceus/admin/v1/legal-holds/{holdId} */
  app.delete('/legal-holds/:holdId', { config: { admin: { area, verb: 'release' } }, schema: { tags, summary: 'Release a legal hold', params: HoldIdParam } }, async (request) =>
    retention.releaseHold(adminCaller(request), request.params.holdId),
  );
}
