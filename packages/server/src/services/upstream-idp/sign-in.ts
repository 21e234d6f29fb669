/**
 * The sign-in page's first step when an upstream identity provider replaces local passwords:
 * "Continue with <provider>" sends the browser there with this flow's state, nonce and PKCE verifier
 * kept server-side in the flow; the callback checks them, maps the person to an account and hands
 * back to the flow (this server's second factor next, unless the provider's is trusted).
 */
import { MatrixError } from '@caduceus/core';
import type { AuthEvents } from '../mfa/events.ts';
import type { Flow, SignInFlows, StepResult } from '../mfa/sign-in-flow.ts';
import type { Storage } from '../../storage/index.ts';
import type { UpstreamIdpService } from './index.ts';

export class UpstreamSignIn {
  readonly #idp: UpstreamIdpService;
  readonly #flows: SignInFlows;
  readonly #storage: Storage;
  readonly #events: AuthEvents;

  constructor(idp: UpstreamIdpService, flows: SignInFlows, storage: Storage, events: AuthEvents) {
    this.#idp = idp;
    this.#flows = flows;
    this.#storage = storage;
    this.#events = events;
  }

  get providerName(): string {
    return this.#idp.settings.name;
  }

  /** Where to send the browser; the flow remembers what the callback must match. */
  async start(flow: Flow): Promise<string> {
    if (flow.record.stage !== 'password') throw new MatrixError('M_FORBIDDEN', 'This sign-in is past that step');
    const { url, pending } = await this.#idp.authorizationUrl();
    await this.#flows.save(flow, 'password', { ...pending });
    return url;
  }

  async finish(flow: Flow, callbackUrl: URL, address: string): Promise<StepResult> {
    const { idpState, idpNonce, idpVerifier } = flow.record.state;
    if (flow.record.stage !== 'password' || !idpState || !idpNonce || !idpVerifier) {
      throw new MatrixError('M_FORBIDDEN', 'This sign-in did not go to your organisation\'s sign-in; start again');
    }
    // Single use: a replayed callback finds nothing to match.
    await this.#flows.save(flow, 'password', {});
    const identity = await this.#idp.finish(callbackUrl, { idpState, idpNonce, idpVerifier }, address);
    const forUser = flow.record.completion.userId;
    if (forUser && identity.userId !== forUser) {
      await this.#events.login('refused', { userId: identity.userId, address, method: 'sign_in_page', factor: 'upstream_idp', reason: 'other_user' });
      throw new MatrixError('M_FORBIDDEN', `Sign in as ${forUser} to confirm.`);
    }
    const user = await this.#storage.users.get(identity.userId);
    if (!user || user.deactivated) {
      await this.#events.login('refused', { userId: identity.userId, address, method: 'sign_in_page', factor: 'upstream_idp', reason: 'deactivated' });
      throw new MatrixError('M_FORBIDDEN', 'This account has been deactivated.');
    }
    return this.#flows.afterFirstFactor(flow, identity.userId, address, 'upstream_idp', identity.secondFactorDone);
  }
}
