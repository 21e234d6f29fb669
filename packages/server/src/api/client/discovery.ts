/** Server discovery: what the server speaks and can do. */
import { Type } from 'typebox';
import { roomVersionsCapability } from '@caduceus/core';
import { optionalAuth, requireAuth } from '../../http/authenticate.ts';
import type { App } from '../../http/types.ts';
import type { Services } from '../../services/index.ts';
import { POLICY_PATH } from './session-policy.ts';

/** Spec versions whose Client-Server API we implement (v1.4+ changes how clients build filters and read markers). */
export const SUPPORTED_VERSIONS = ['v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11'];


export function discoveryRoutes(app: App, services: Services) {
  /** GET /_matrix/client/versions: answered with or without a token (clients send theirs). */
  app.get('/_matrix/client/versions', { onRequest: optionalAuth(services.sessions) }, async () => ({
    versions: SUPPORTED_VERSIONS,
    unstable_features: {},
  }));

  /** GET /.well-known/matrix/client */
  app.get('/.well-known/matrix/client', async (_request, reply) => {
    reply.header('Access-Control-Allow-Origin', '*').header('Cache-Control', 'public, max-age=3600');
    return {
      'm.homeserver': { base_url: services.config.publicUrl },
      // What a client must enforce (idle lock, MFA, encryption), and where to read it again.
      'org.caduceus.policy': { ...services.sessionControl.policy(), url: `${services.config.publicUrl}${POLICY_PATH}` },
    };
  });

  /** GET /_matrix/client/v3/capabilities */
  app.get(
    '/_matrix/client/v3/capabilities',
    { onRequest: requireAuth(services.sessions), schema: { querystring: Type.Object({}) } },
    async () => ({
      capabilities: {
        'm.change_password': { enabled: true },
        'm.room_versions': roomVersionsCapability(),
        'm.set_displayname': { enabled: true },
        'm.set_avatar_url': { enabled: true },
        'm.3pid_changes': { enabled: false },
        'm.get_login_token': { enabled: false },
      },
    }),
  );
}
