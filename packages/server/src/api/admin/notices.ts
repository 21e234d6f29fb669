/** Admin API: server notices. */
import { Type } from 'typebox';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { MAX_NOTICE_CHARS } from '../../services/admin/notices.ts';
import { adminCaller } from './gate.ts';

export function adminNoticeRoutes(app: App, { admin }: Services) {
  /** POST /_caduceus/admin/v1/notices */
  app.post(
    '/notices',
    {
      config: { admin: { area: 'notices', verb: 'send' } },
      schema: {
        tags: ['notices'],
        summary: "Send a server notice to every active user (in each user's server notices room); keep patient information out of it",
        body: Type.Object({ body: Type.String({ minLength: 1, maxLength: MAX_NOTICE_CHARS }) }, { additionalProperties: false }),
      },
    },
    async (request) => admin.notices.sendToAll(adminCaller(request), request.body.body),
  );
}
