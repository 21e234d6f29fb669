/** GET /_matrix/key/v2/server: the server's signing key, signed by itself (spec: Server-Server API, "Publishing Keys"). */
import { signJson } from '../../crypto/signing-key.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';

const VALIDITY_MS = 7 * 24 * 60 * 60_000;

export function serverKeyRoutes(app: App, services: Services) {
  const { config, signingKey, clock } = services;
  app.get('/_matrix/key/v2/server', async (_request, reply) => {
    reply.header('Cache-Control', 'public, max-age=3600');
    return signJson(
      {
        server_name: config.serverName,
        verify_keys: { [signingKey.keyId]: { key: signingKey.publicKeyBase64 } },
        old_verify_keys: {},
        valid_until_ts: clock.now() + VALIDITY_MS,
      },
      config.serverName,
      signingKey,
    );
  });
}
