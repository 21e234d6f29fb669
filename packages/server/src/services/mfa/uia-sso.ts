/**
 * The `m.login.sso` stage of user-interactive auth (spec: "Single Sign-On" under UIA, and "Fallback").
 * The client opens `/auth/m.login.sso/fallback/web?session=…`; that starts a sign-in flow bound to
 * the UIA session's own user, and when the person has signed in on the page (password and second
 * factor, or the upstream identity provider) the stage is marked complete and the page tells the
 * client, which then retries its request with the session.
 */
import { MatrixError } from '@caduceus/core';
import type { SignInCompletion } from '../../storage/index.ts';
import type { AuthEvents } from './events.ts';
import type { CompletionHandler } from './sign-in-flow.ts';

/** The part of UiaService this needs. */
export interface UiaSsoSessions {
  /** The user and purpose of a live re-authentication session; undefined when there is none. */
  ssoTarget(sessionId: string): Promise<{ userId: string; purpose: string } | undefined>;
  /** Marks m.login.sso complete on the session (for that user only). */
  completeSso(sessionId: string, userId: string): Promise<boolean>;
}

/** What the person is confirming, in words for the page. */
const PURPOSES: Record<string, string> = {
  delete_devices: 'sign out devices',
  delete_device: 'sign out a device',
  change_password: 'change your password',
  deactivate: 'deactivate your account',
  device_signing_upload: 'replace your cross-signing keys',
  wipe_devices: 'wipe devices',
};

export class UiaSsoCompletion implements CompletionHandler {
  readonly kind = 'uia';
  readonly offersEnrollment = false;
  readonly #sessions: () => UiaSsoSessions;
  readonly #events: AuthEvents;
  readonly #donePath: string;

  constructor(sessions: () => UiaSsoSessions, events: AuthEvents, donePath: string) {
    this.#sessions = sessions;
    this.#events = events;
    this.#donePath = donePath;
  }

  /** The completion for the fallback page of `sessionId`; M_NOT_FOUND when it is not a live re-authentication. */
  async completionFor(sessionId: string): Promise<SignInCompletion> {
    const target = await this.#sessions().ssoTarget(sessionId);
    if (!target) throw new MatrixError('M_NOT_FOUND', 'Unknown or expired authentication session; start again from your app');
    return { kind: this.kind, session: sessionId, userId: target.userId, purpose: PURPOSES[target.purpose] ?? 'continue' };
  }

  destination(): string {
    return "'self'";
  }

  async complete(userId: string, completion: SignInCompletion): Promise<string> {
    const sessionId = completion.session ?? '';
    const purpose = (await this.#sessions().ssoTarget(sessionId))?.purpose ?? 'unknown';
    // The flow admits only the session's user; checked once more where the stage is marked.
    if (userId !== completion.userId || !(await this.#sessions().completeSso(sessionId, userId))) {
      await this.#events.reauth('failure', userId, purpose, 'm.login.sso', 'session_gone');
      throw new MatrixError('M_FORBIDDEN', 'This confirmation is no longer valid; start again from your app');
    }
    await this.#events.reauth('success', userId, purpose, 'm.login.sso');
    return this.#donePath;
  }
}
