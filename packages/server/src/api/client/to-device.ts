/** PUT /_matrix/client/v3/sendToDevice/{eventType}/{txnId} (spec: "Send-to-Device messaging"). */
import { Type } from 'typebox';
import { principal, requireAuth } from '../../http/authenticate.ts';
import { limits } from '../../http/rate-limits.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { EventTypeField, TxnIdField } from './fields.ts';

const Messages = Type.Record(Type.String({ maxLength: 255 }), Type.Record(Type.String({ maxLength: 255 }), Type.Record(Type.String(), Type.Unknown())));

export function toDeviceRoutes(app: App, services: Services) {
  app.put(
    '/_matrix/client/v3/sendToDevice/:eventType/:txnId',
    {
      onRequest: requireAuth(services.sessions),
      config: { rateLimit: limits.send },
      schema: { params: Type.Object({ eventType: EventTypeField, txnId: TxnIdField }), body: Type.Object({ messages: Messages }) },
    },
    async (request) => {
      await services.toDevice.send(principal(request), request.params.eventType, request.params.txnId, request.body.messages);
      return {};
    },
  );
}
