/**
 * How a sign-in started by an OAuth authorization finishes: once the page has authenticated the
 * person (password and second factor), grant the client the Matrix scopes it asked for and hand
 * the browser back to the provider, which redirects to the client with the authorization code.
 * The browser can only resume with the provider's own cookie for that authorization, so a
 * finished sign-in cannot be redeemed from another browser.
 */
import { MatrixError } from '@caduceus/core';
import type Provider from 'oidc-provider';
import type { SignInCompletion } from '../../storage/index.ts';
import type { CompletionHandler } from '../mfa/sign-in-flow.ts';
import { cspSourceOf } from '../mfa/sso.ts';
import { parseMatrixScope } from './scopes.ts';

export const OIDC_COMPLETION = 'oidc';

export class OidcCompletion implements CompletionHandler {
  readonly kind = OIDC_COMPLETION;
  readonly #provider: () => Provider;
  readonly #matrixResource: () => string;

  constructor(provider: () => Provider, matrixResource: () => string) {
    this.#provider = provider;
    this.#matrixResource = matrixResource;
  }

  completionFor(uid: string, redirectUri: string): SignInCompletion {
    return { kind: this.kind, uid, redirectUri };
  }

  destination(completion: SignInCompletion): string {
    // The form's redirect ends at the client's redirect URI (through the provider, on 'self').
    return cspSourceOf(completion.redirectUri ?? '');
  }

  async complete(userId: string, completion: SignInCompletion): Promise<string> {
    const provider = this.#provider();
    const interaction = completion.uid ? await provider.Interaction.find(completion.uid) : undefined;
    if (!interaction) throw new MatrixError('M_FORBIDDEN', 'This sign-in took too long; go back to your app and start again');
    const params = interaction.params as Record<string, string | undefined>;
    const parsed = parseMatrixScope(params.scope ?? '');
    const clientId = params.client_id;
    if (!clientId || !('deviceId' in parsed)) throw new MatrixError('M_FORBIDDEN', 'This sign-in cannot be completed; go back to your app and start again');

    const grant = new provider.Grant({ accountId: userId, clientId });
    if ((params.scope ?? '').split(' ').includes('openid')) grant.addOIDCScope('openid');
    grant.addResourceScope(this.#matrixResource(), parsed.scopes.join(' '));
    const grantId = await grant.save();
    interaction.result = { login: { accountId: userId, remember: false }, consent: { grantId } };
    await interaction.save(Math.max(1, interaction.exp - Math.floor(Date.now() / 1000)));
    return interaction.returnTo;
  }
}
